import { createHash } from 'node:crypto';
import { open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  isServiceCoordinate,
  type Logger,
  type RestartPolicy,
  type ServiceExit,
  type ServiceOverrides,
  type ServiceState,
} from '@ur/protocol/wire';
import { syncDirectory } from '../artifacts/tree.js';

/** The main process of a service as recorded, to re-adopt it after an agent restart. */
export interface RecordedProcess {
  pid: number;
  /** /proc start time (clock ticks since boot): a reused pid has another one. */
  startTime: string;
  startedAt: number;
  /** The named pipe its output goes through. */
  pipe: string;
}

/**
 * What the agent keeps about a service in `<prefix>/state/services/<coordinate>.json`,
 * rewritten (fsync'd, atomic rename) on every transition: the request that
 * started it, the desired state, and what runs.
 */
export interface ServiceRecord {
  format: 1;
  coordinate: string;
  artifact: string;
  /** As the start request gave them. */
  options: Record<string, unknown>;
  restart: RestartPolicy | undefined;
  overrides: ServiceOverrides | undefined;
  /** Of artifact, options, restart and overrides: an identical start is a no-op. */
  fingerprint: string;
  desired: 'running' | 'stopped';
  state: ServiceState;
  since: number;
  process: RecordedProcess | null;
  restarts: number;
  /** Times of recent restarts, for the crash-loop window. */
  restartTimes: number[];
  lastExits: ServiceExit[];
  /** The boot the record was written in: another boot means no recorded process survives. */
  bootId: string | undefined;
}

/** Keys sorted at every level, so equal values give equal text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function startFingerprint(params: {
  artifact: string;
  options: Record<string, unknown>;
  restart: RestartPolicy | undefined;
  overrides: ServiceOverrides | undefined;
}): string {
  return createHash('sha256').update(canonical(params)).digest('hex');
}

export class ServiceRecords {
  readonly dir: string;
  readonly #log: Logger;

  constructor(dir: string, logger: Logger) {
    this.dir = dir;
    this.#log = logger;
  }

  pathOf(coordinate: string): string {
    return join(this.dir, `${coordinate}.json`);
  }

  /** Every readable record; unreadable ones are logged and skipped. */
  async readAll(): Promise<ServiceRecord[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    const records: ServiceRecord[] = [];
    for (const name of names) {
      if (!name.endsWith('.json') || !isServiceCoordinate(name.slice(0, -5))) continue;
      try {
        const record = JSON.parse(await readFile(join(this.dir, name), 'utf8')) as ServiceRecord;
        if (record.format === 1 && record.coordinate === name.slice(0, -5)) records.push(record);
        else this.#log.warn('unknown service record format; ignored', { file: name });
      } catch (err) {
        this.#log.warn('unreadable service record; ignored', { file: name, error: String(err) });
      }
    }
    return records;
  }

  async write(record: ServiceRecord): Promise<void> {
    const path = this.pathOf(record.coordinate);
    const temp = `${path}.tmp`;
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(`${JSON.stringify(record, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    await syncDirectory(this.dir);
  }

  async remove(coordinate: string): Promise<void> {
    await rm(this.pathOf(coordinate), { force: true });
    await syncDirectory(this.dir);
  }
}
