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

/** Consumers per queue, for queues whose name contains `nameFragment`. */
export async function consumerCounts(nameFragment: string): Promise<Map<string, number>> {
  const rows = JSON.parse(
    await rabbitmqctl(['list_queues', 'name', 'consumers', '--formatter', 'json', '--silent']),
  ) as { name: string; consumers: number }[];
  return new Map(rows.filter((r) => r.name.includes(nameFragment)).map((r) => [r.name, r.consumers]));
}
