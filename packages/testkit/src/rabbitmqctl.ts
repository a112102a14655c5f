import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs rabbitmqctl against the test broker: inside the test container when
 * the global setup started one, else the local installation.
 */
export async function rabbitmqctl(args: string[]): Promise<string> {
  const container = process.env.UR_TEST_RABBITMQ_CONTAINER;
  const { stdout } = container
    ? await run('docker', ['exec', container, 'rabbitmqctl', ...args])
    : await run('rabbitmqctl', args);
  return stdout;
}

/** Force-closes every broker connection whose connection_name contains `nameFragment`; returns how many. */
export async function closeConnections(nameFragment: string): Promise<number> {
  // The tab-separated listing gives pids in the form close_connection accepts
  // (the JSON one does not).
  const listing = await rabbitmqctl(['list_connections', 'pid', 'client_properties', '--silent']);
  const pids = listing
    .split('\n')
    .map((line) => /^(<[^>]+>)\t.*\{"connection_name","([^"]*)"\}/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2]!.includes(nameFragment))
    .map((m) => m[1]!);
  for (const pid of pids) await rabbitmqctl(['close_connection', pid, 'closed by a test']);
  return pids.length;
}

/** Open channels of each broker connection whose connection_name contains `nameFragment`. */
export async function connectionChannels(nameFragment: string): Promise<number[]> {
  const listing = await rabbitmqctl(['list_connections', 'channels', 'client_properties', '--silent']);
  return listing
    .split('\n')
    .map((line) => /^(\d+)\t.*\{"connection_name","([^"]*)"\}/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[2]!.includes(nameFragment))
    .map((m) => Number(m[1]));
}

/** The x-arguments of a queue, or undefined if there is no such queue. */
export async function queueArguments(name: string): Promise<Record<string, unknown> | undefined> {
  const rows = JSON.parse(
    await rabbitmqctl(['list_queues', 'name', 'arguments', '--formatter', 'json', '--silent']),
  ) as { name: string; arguments: [string, string, unknown][] }[];
  const row = rows.find((r) => r.name === name);
  // rabbitmqctl lists them as [name, type, value] triples.
  return row && Object.fromEntries(row.arguments.map(([key, , value]) => [key, value]));
}

/** Consumers per queue, for queues whose name contains `nameFragment`. */
export async function consumerCounts(nameFragment: string): Promise<Map<string, number>> {
  const rows = JSON.parse(
    await rabbitmqctl(['list_queues', 'name', 'consumers', '--formatter', 'json', '--silent']),
  ) as { name: string; consumers: number }[];
  return new Map(rows.filter((r) => r.name.includes(nameFragment)).map((r) => [r.name, r.consumers]));
}
