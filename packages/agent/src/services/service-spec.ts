import { readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { isAbsolute, join, normalize, sep } from 'node:path';
import {
  checkServiceManifest,
  type HealthCheck,
  type PrepareStep,
  type RestartPolicy,
  type ServiceManifest,
  type ServiceOverrides,
} from '@ur/protocol/wire';
import { InvalidServiceSpecError } from './errors.js';
import { PlaceholderError, renderPlaceholders, type PlaceholderContext } from './placeholders.js';
import { compileRestartPolicy, type CompiledRestartPolicy } from './restart-policy.js';

/** The manifest's name at an artifact's root. */
export const MANIFEST_FILE = 'ur-service.json';
/** The options as the service sees them, in its runtime directory. */
export const OPTIONS_FILE = 'options.json';

const MAX_MANIFEST_BYTES = 1024 * 1024;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;
export const DEFAULT_DRAIN_TIMEOUT_MS = 60_000;
export const DEFAULT_HEALTH_INTERVAL_MS = 500;
export const DEFAULT_HEALTH_TIMEOUT_MS = 30_000;

export interface ResolvedHealthCheck {
  type: 'tcp' | 'http';
  port: number;
  path: string;
  intervalMs: number;
  timeoutMs: number;
}

export type ResolvedStep =
  | { kind: 'copy'; from: string; to: string; overwrite: boolean }
  | { kind: 'template'; from: string; to: string }
  | { kind: 'archive'; url: string; sha256: string; to: string };

/** Everything needed to run one service, placeholders filled in. */
export interface ServiceSpec {
  command: string;
  args: string[];
  /** The whole environment of the process. */
  env: Record<string, string>;
  ports: Record<string, number>;
  stopSignal: NodeJS.Signals;
  stopTimeoutMs: number;
  drainSignal: NodeJS.Signals;
  drainTimeoutMs: number;
  health: ResolvedHealthCheck | undefined;
  prepare: ResolvedStep[];
  restart: CompiledRestartPolicy;
  logs: { maxBytes: number; files: number };
  /** The manifest's default options with the request's merged over them. */
  options: Record<string, unknown>;
  /** For template steps: the same context as args and env. */
  context: PlaceholderContext;
}

export interface SpecInput {
  coordinate: string;
  parts: { instance: string; service: string; user: string; cell: string };
  artifact: { coordinate: string; groupId: string; artifactId: string; version: string };
  softwareDir: string;
  runtimeDir: string;
  nodeId: string;
  options: Record<string, unknown> | undefined;
  restart: RestartPolicy | undefined;
  overrides: ServiceOverrides | undefined;
  logDefaults: { maxBytes: number; files: number };
}

/** Reads `ur-service.json` of an installed version; none is an empty manifest. */
export async function readManifest(softwareDir: string, coordinate: string): Promise<ServiceManifest> {
  let text: string;
  try {
    text = await readFile(join(softwareDir, MANIFEST_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new InvalidServiceSpecError(coordinate, `cannot read ${MANIFEST_FILE}: ${String(err)}`, {
      cause: err,
    });
  }
  if (text.length > MAX_MANIFEST_BYTES) {
    throw new InvalidServiceSpecError(
      coordinate,
      `${MANIFEST_FILE} is larger than ${MAX_MANIFEST_BYTES} bytes`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidServiceSpecError(coordinate, `${MANIFEST_FILE} is not JSON: ${(err as Error).message}`);
  }
  const checked = checkServiceManifest(value);
  if (!checked.ok)
    throw new InvalidServiceSpecError(coordinate, `${MANIFEST_FILE}: ${checked.error.message}`);
  return checked.value;
}

/**
 * A relative path that stays below its base: no absolute paths and no `..`
 * component, so a manifest cannot point the agent (often root) elsewhere.
 */
export function relativeInside(path: string): string | undefined {
  if (isAbsolute(path) || path.includes('\0')) return undefined;
  const normalized = normalize(path).replace(/\/+$/, '');
  if (normalized === '' || normalized === '.' || normalized.split(sep).includes('..')) return undefined;
  return normalized;
}

function signalOf(
  name: string | undefined,
  fallback: NodeJS.Signals,
  field: string,
  coordinate: string,
): NodeJS.Signals {
  if (name === undefined) return fallback;
  if (!Object.hasOwn(constants.signals, name)) {
    throw new InvalidServiceSpecError(coordinate, `${field}: unknown signal ${name}`);
  }
  return name as NodeJS.Signals;
}

/**
 * Merges the manifest, the overrides (a whole field at a time) and the
 * request's options and restart policy (field by field), and fills in the
 * placeholders. Throws {@link InvalidServiceSpecError}.
 */
export function resolveSpec(manifest: ServiceManifest, input: SpecInput): ServiceSpec {
  const c = input.coordinate;
  const { options: defaults, ...fields } = manifest;
  const merged: ServiceOverrides = { ...fields, ...input.overrides };
  const options = { ...defaults, ...input.options };
  const base = {
    options,
    service: {
      coordinate: c,
      instance: input.parts.instance,
      name: input.parts.service,
      user: input.parts.user,
      cell: input.parts.cell,
    },
    artifact: {
      coordinate: input.artifact.coordinate,
      group: input.artifact.groupId,
      id: input.artifact.artifactId,
      version: input.artifact.version,
    },
    dirs: { runtime: input.runtimeDir, software: input.softwareDir },
    node: { id: input.nodeId },
  };
  try {
    const port = (value: number | string, where: string, ctx: PlaceholderContext = base): number => {
      if (typeof value === 'number') return value;
      const text = renderPlaceholders(value, ctx, where);
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1 || n > 65535) {
        throw new InvalidServiceSpecError(c, `${where}: ${JSON.stringify(text)} is not a port number`);
      }
      return n;
    };
    const ports: Record<string, number> = {};
    for (const [name, value] of Object.entries(merged.ports ?? {}))
      ports[name] = port(value, `ports.${name}`);
    const context: PlaceholderContext = { ...base, ports };
    const render = (text: string, where: string): string => renderPlaceholders(text, context, where);

    if (merged.command === undefined) {
      throw new InvalidServiceSpecError(
        c,
        `no command: the artifact has no ${MANIFEST_FILE} with one and the request gives none`,
      );
    }
    let command = render(merged.command, 'command');
    if (!isAbsolute(command) && command.includes('/')) {
      const inside = relativeInside(command);
      if (inside === undefined)
        throw new InvalidServiceSpecError(c, `command ${command} leads outside the artifact`);
      command = join(input.softwareDir, inside);
    }
    const args = (merged.args ?? []).map((a, i) => render(a, `args[${i}]`));
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? DEFAULT_PATH,
      HOME: input.runtimeDir,
      ...(process.env.LANG !== undefined ? { LANG: process.env.LANG } : {}),
      ...(process.env.TZ !== undefined ? { TZ: process.env.TZ } : {}),
      UR_SERVICE: c,
      UR_RUNTIME_DIR: input.runtimeDir,
      UR_SOFTWARE_DIR: input.softwareDir,
      UR_OPTIONS_FILE: join(input.runtimeDir, OPTIONS_FILE),
      UR_NODE_ID: input.nodeId,
    };
    for (const [name, value] of Object.entries(merged.env ?? {})) env[name] = render(value, `env.${name}`);
    return {
      command,
      args,
      env,
      ports,
      stopSignal: signalOf(merged.stop_signal, 'SIGTERM', 'stop_signal', c),
      stopTimeoutMs: (merged.stop_timeout_s ?? DEFAULT_STOP_TIMEOUT_MS / 1000) * 1000,
      drainSignal: signalOf(merged.drain_signal, 'SIGTERM', 'drain_signal', c),
      drainTimeoutMs: (merged.drain_timeout_s ?? DEFAULT_DRAIN_TIMEOUT_MS / 1000) * 1000,
      health: merged.health && resolveHealth(merged.health, (value, where) => port(value, where, context)),
      prepare: (merged.prepare ?? []).map((step, i) => resolveStep(step, i, render, c)),
      restart: compileRestartPolicy(manifest.restart, input.overrides?.restart, input.restart),
      logs: {
        maxBytes: merged.logs?.max_bytes ?? input.logDefaults.maxBytes,
        files: merged.logs?.files ?? input.logDefaults.files,
      },
      options,
      context,
    };
  } catch (err) {
    if (err instanceof PlaceholderError) throw new InvalidServiceSpecError(c, err.message, { cause: err });
    throw err;
  }
}

function resolveHealth(
  health: HealthCheck,
  port: (value: number | string, where: string) => number,
): ResolvedHealthCheck {
  return {
    type: health.type,
    port: port(health.port, 'health.port'),
    path: health.path ?? '/',
    intervalMs: (health.interval_s ?? DEFAULT_HEALTH_INTERVAL_MS / 1000) * 1000,
    timeoutMs: (health.timeout_s ?? DEFAULT_HEALTH_TIMEOUT_MS / 1000) * 1000,
  };
}

function resolveStep(
  step: PrepareStep,
  i: number,
  render: (text: string, where: string) => string,
  coordinate: string,
): ResolvedStep {
  const path = (value: string, where: string): string => {
    const rendered = render(value, `prepare[${i}].${where}`);
    const inside = relativeInside(rendered);
    if (inside === undefined) {
      throw new InvalidServiceSpecError(
        coordinate,
        `prepare[${i}].${where}: ${JSON.stringify(rendered)} must be a relative path without '..'`,
      );
    }
    return inside;
  };
  if ('copy' in step)
    return {
      kind: 'copy',
      from: path(step.copy, 'copy'),
      to: path(step.to, 'to'),
      overwrite: step.overwrite === true,
    };
  if ('template' in step)
    return { kind: 'template', from: path(step.template, 'template'), to: path(step.to, 'to') };
  const url = render(step.archive, `prepare[${i}].archive`);
  const sha256 = render(step.sha256, `prepare[${i}].sha256`).toLowerCase();
  if (!/^[a-f0-9]{64}$/.test(sha256)) {
    throw new InvalidServiceSpecError(coordinate, `prepare[${i}].sha256 is not a SHA-256 (64 hex digits)`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidServiceSpecError(
      coordinate,
      `prepare[${i}].archive ${JSON.stringify(url)} is not a URL`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidServiceSpecError(coordinate, `prepare[${i}].archive must be http or https`);
  }
  return { kind: 'archive', url: parsed.href, sha256, to: path(step.to, 'to') };
}
