import type { RestartPolicy, ServiceInfo, ServiceOverrides, ServiceStartBody } from '@ur/protocol';
import type { HeadnodeClient } from '../client.js';
import { serviceDetails, servicesTable } from '../format.js';
import type { CliIo } from '../io.js';

export interface StartArgs {
  node: string;
  coordinate: string;
  artifact: string;
  options: Record<string, unknown>;
  restart: RestartPolicy | undefined;
  overrides: ServiceOverrides | undefined;
  timeout: number | undefined;
  json: boolean;
}

/** A `--option` value: JSON when it parses (8080, true, {"a":1}), else the text itself. */
function optionValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** `key=value` pairs into options; returns a usage message for a malformed one. */
export function parseOptionArgs(
  pairs: readonly string[],
  into: Record<string, unknown> = {},
): Record<string, unknown> | string {
  const options = { ...into };
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return `--option expects key=value, got ${JSON.stringify(pair)}`;
    options[pair.slice(0, eq)] = optionValue(pair.slice(eq + 1));
  }
  return options;
}

/** A JSON object argument (`--options`, `--overrides`); returns a usage message if it is not one. */
export function parseJsonObject(
  flag: string,
  text: string | undefined,
): Record<string, unknown> | undefined | string {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `${flag} is not JSON: ${(err as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return `${flag} must be a JSON object`;
  return value as Record<string, unknown>;
}

const brief = (s: ServiceInfo): string => `${s.coordinate} on ${s.artifact}: ${s.state}, pid ${s.pid ?? '-'}`;

function print(io: CliIo, json: boolean, value: unknown, text: string): void {
  io.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

export async function startService(client: HeadnodeClient, io: CliIo, args: StartArgs): Promise<number> {
  const body: ServiceStartBody = {
    coordinate: args.coordinate,
    artifact: args.artifact,
    options: args.options,
  };
  if (args.restart !== undefined) body.restart = args.restart;
  if (args.overrides !== undefined) body.overrides = args.overrides;
  if (args.timeout !== undefined) body.timeout = args.timeout;
  const result = await client.startService(args.node, body);
  const prepared = result.prepared.map((p) => `${p.to} ${p.action}`).join(', ');
  const what = `${brief(result)} in ${result.runtime_dir}${prepared ? ` (${prepared})` : ''}`;
  print(io, args.json, result, result.already_running ? `already running: ${what}` : `started ${what}`);
  return 0;
}

export async function stopService(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; coordinate: string; forget: boolean; json: boolean },
): Promise<number> {
  const result = await client.stopService(args.node, args.coordinate, { forget: args.forget });
  print(
    io,
    args.json,
    result,
    `stopped ${result.coordinate} on ${args.node}${result.forgotten ? ' (forgotten)' : ''}`,
  );
  return 0;
}

export async function drainService(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; coordinate: string; drainTimeout: number | undefined; json: boolean },
): Promise<number> {
  const result = await client.drainService(
    args.node,
    args.coordinate,
    args.drainTimeout === undefined ? {} : { drain_timeout: args.drainTimeout },
  );
  const last = result.last_exits.at(-1);
  const exit = last ? ` (${last.signal ?? `exit status ${last.exit_status ?? 'unknown'}`})` : '';
  print(io, args.json, result, `drained ${result.coordinate} on ${args.node}: ${result.state}${exit}`);
  return 0;
}

export async function restartService(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; coordinate: string; json: boolean },
): Promise<number> {
  const result = await client.restartService(args.node, args.coordinate);
  print(io, args.json, result, `restarted ${brief(result)}`);
  return 0;
}

export async function listServices(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; json: boolean },
): Promise<number> {
  const { services } = await client.listServices(args.node);
  if (args.json) io.stdout.write(`${JSON.stringify(services, null, 2)}\n`);
  else if (services.length === 0) io.stderr.write(`no services on ${args.node}\n`);
  else io.stdout.write(`${servicesTable(services)}\n`);
  return 0;
}

export async function showService(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; coordinate: string; json: boolean },
): Promise<number> {
  const result = await client.serviceStatus(args.node, args.coordinate);
  print(io, args.json, result, serviceDetails(result));
  return 0;
}

/** The last lines of a service's output; with `follow`, new output as it comes until the timeout (or ^C). */
export async function serviceLogs(
  client: HeadnodeClient,
  io: CliIo,
  args: {
    node: string;
    coordinate: string;
    lines: number;
    follow: boolean;
    timeout: number | undefined;
    json: boolean;
  },
): Promise<number> {
  if (!args.follow) {
    const result = await client.serviceLogs(args.node, args.coordinate, args.lines);
    if (args.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else io.stdout.write(result.lines.map((l) => `${l}\n`).join(''));
    return 0;
  }
  const result = await client.followServiceLogs(
    args.node,
    args.coordinate,
    { lines: args.lines, timeout: args.timeout },
    (text) => io.stdout.write(text),
  );
  if (args.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return 0;
}
