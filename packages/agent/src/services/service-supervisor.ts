import { randomBytes } from 'node:crypto';
import { chmod, lchown, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  formatCoordinate,
  parseCoordinate,
  parseServiceCoordinate,
  serviceRuntimeSegments,
  SERVICE_STATES,
  type Logger,
  type ServiceCounts,
  type ServiceEvent,
  type ServiceInfo,
  type ServiceStartRequest,
  type ServiceStartResult,
  type ServiceStopResult,
} from '@ur/protocol/wire';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { NotInstalledError } from '../artifacts/errors.js';
import { KeyedLock } from '../keyed-lock.js';
import { ServiceConflictError, ServiceNotFoundError, ServiceStartFailedError } from './errors.js';
import { removeTree } from '../artifacts/tree.js';
import { PinnedDir } from './pinned-dir.js';
import { prepareRuntime, type NetworkLimits } from './prepare.js';
import { startFingerprint, ServiceRecords, type ServiceRecord } from './service-record.js';
import { OPTIONS_FILE, readManifest, resolveSpec, type ServiceSpec } from './service-spec.js';
import { resolveServiceAccount, ServiceUserError, type ServiceAccount } from './service-user.js';
import { ServiceUnit, type UnitEvent } from './service-unit.js';
import type { LogTail } from './rotating-log.js';

export interface ServiceSupervisorOptions {
  prefix: string;
  stateDir: string;
  nodeId: string;
  bootId: string | undefined;
  artifacts: ArtifactStore;
  /** The account services run as when the agent is root (`root` for root itself). */
  user: string;
  logMaxBytes: number;
  logFiles: number;
  /** Downloads of saved state (the agent's artifact download limits). */
  net: NetworkLimits;
  logger: Logger;
  /** Sends a `ur.event.<node>.service` (the agent's confirmed outbox). */
  publish(event: ServiceEvent): void;
}

export interface StartParams {
  coordinate: string;
  artifact: string;
  options: Record<string, unknown> | undefined;
  restart: ServiceStartRequest['restart'];
  overrides: ServiceStartRequest['overrides'];
}

interface Resolved {
  spec: ServiceSpec;
  softwareDir: string;
}

/**
 * Every supervised service of the node: starts them from installed
 * artifacts, keeps them running per their policy, re-adopts them after an
 * agent restart, and answers the `service.*` requests. Requests on one
 * coordinate run one at a time.
 */
export class ServiceSupervisor {
  readonly #o: ServiceSupervisorOptions;
  readonly #log: Logger;
  readonly #records: ServiceRecords;
  readonly #units = new Map<string, ServiceUnit>();
  readonly #locks = new KeyedLock();
  #account: ServiceAccount | undefined;
  #seq = 0;

  constructor(options: ServiceSupervisorOptions) {
    this.#o = options;
    this.#log = options.logger;
    this.#records = new ServiceRecords(join(options.stateDir, 'services'), options.logger);
  }

  get runtimeRoot(): string {
    return join(this.#o.prefix, 'runtime');
  }

  /** The agent's own work directory next to the runtime directories (same filesystem, so renames move things in). */
  get #staging(): string {
    return join(this.runtimeRoot, '.ur-staging');
  }

  runtimeDirOf(coordinate: string): string {
    return join(this.runtimeRoot, ...serviceRuntimeSegments(parseServiceCoordinate(coordinate)));
  }

  #softwareDirOf(artifact: string): string {
    const c = parseCoordinate(artifact);
    return join(this.#o.artifacts.layout.software, c.groupId, c.artifactId, c.version);
  }

  async #serviceAccount(): Promise<ServiceAccount> {
    this.#account ??= await resolveServiceAccount(this.#o.user, process.getuid?.() === 0);
    return this.#account;
  }

  /** The account for a start: one that cannot be used fails the start (it is the agent's configuration). */
  async #accountFor(coordinate: string): Promise<ServiceAccount> {
    try {
      return await this.#serviceAccount();
    } catch (err) {
      if (err instanceof ServiceUserError)
        throw new ServiceStartFailedError(coordinate, `${err.message} (--service-user)`);
      throw err;
    }
  }

  /** Reads the records and brings every service to its desired state (adopting what still runs). */
  async open(): Promise<void> {
    await mkdir(this.#records.dir, { recursive: true, mode: 0o700 });
    await mkdir(this.runtimeRoot, { recursive: true, mode: 0o755 });
    // Work a crash left half done.
    await removeTree(this.#staging);
    await mkdir(this.#staging, { mode: 0o700 });
    const records = await this.#records.readAll();
    const pipes = new Set(records.map((r) => r.process?.pipe).filter((p): p is string => p !== undefined));
    // Pipes of processes nobody records any more (a crash between spawn and record).
    for (const name of await readdir(this.#records.dir)) {
      const path = join(this.#records.dir, name);
      if ((name.endsWith('.fifo') && !pipes.has(path)) || name.endsWith('.json.tmp'))
        await rm(path, { force: true });
    }
    const account = await this.#serviceAccount().catch((err: unknown) => {
      this.#log.error('the service user cannot be used; services cannot be started', { error: String(err) });
      return undefined;
    });
    if (account?.uid !== undefined) await this.#openPrefix();
    for (const record of records) {
      const unit = this.#unit(record, account ?? { name: 'the agent user', uid: undefined, gid: undefined });
      await this.#locks.run(record.coordinate, () => unit.recover());
    }
    for (const unit of this.#units.values()) unit.announce();
    if (records.length > 0) {
      this.#log.info('services recovered', {
        services: [...this.#units.values()].map((u) => `${u.coordinate}:${u.state}`),
      });
    }
  }

  /**
   * Services run as another user must be able to reach their runtime
   * directory and software: the prefix and runtime/ need search permission
   * for others (state/ stays private to the agent).
   */
  async #openPrefix(): Promise<void> {
    for (const dir of [this.#o.prefix, this.runtimeRoot, this.#o.artifacts.layout.software]) {
      const mode = (await stat(dir)).mode & 0o777;
      if ((mode & 0o011) !== 0o011) {
        await chmod(dir, mode | 0o011);
        this.#log.info('made a directory searchable for the service user', {
          dir,
          mode: (mode | 0o011).toString(8),
        });
      }
    }
  }

  #unit(record: ServiceRecord, account: ServiceAccount): ServiceUnit {
    const unit = new ServiceUnit(record, {
      records: this.#records,
      runtimeDir: this.runtimeDirOf(record.coordinate),
      softwareDir: this.#softwareDirOf(record.artifact),
      account,
      bootId: this.#o.bootId,
      logger: this.#log,
      logDefaults: { maxBytes: this.#o.logMaxBytes, files: this.#o.logFiles },
      emit: (event) => this.#emit(event),
      resolve: async (r) => (await this.#resolve(r)).spec,
      pinLogs: () => this.#pinLogs(this.runtimeDirOf(record.coordinate)),
    });
    this.#units.set(record.coordinate, unit);
    return unit;
  }

  #emit(event: UnitEvent): void {
    this.#o.publish({ type: 'service', node_id: this.#o.nodeId, seq: this.#seq++, ...event });
  }

  async #resolve(
    params: Pick<ServiceRecord, 'coordinate' | 'artifact' | 'options' | 'restart' | 'overrides'>,
  ): Promise<Resolved> {
    const artifact = parseCoordinate(params.artifact);
    const installed = await this.#o.artifacts.find(artifact);
    if (!installed) throw new NotInstalledError(formatCoordinate(artifact));
    const softwareDir = installed.path;
    const manifest = await readManifest(softwareDir, params.coordinate);
    const spec = resolveSpec(manifest, {
      coordinate: params.coordinate,
      parts: parseServiceCoordinate(params.coordinate),
      artifact: { coordinate: params.artifact, ...artifact },
      softwareDir,
      runtimeDir: this.runtimeDirOf(params.coordinate),
      nodeId: this.#o.nodeId,
      options: params.options,
      restart: params.restart,
      overrides: params.overrides,
      logDefaults: { maxBytes: this.#o.logMaxBytes, files: this.#o.logFiles },
    });
    return { spec, softwareDir };
  }

  #get(coordinate: string): ServiceUnit {
    parseServiceCoordinate(coordinate);
    const unit = this.#units.get(coordinate);
    if (!unit) throw new ServiceNotFoundError(coordinate);
    return unit;
  }

  /**
   * Starts a service: a no-op if it runs with the same artifact, options,
   * policy and overrides; SERVICE_CONFLICT if it runs with others or is on
   * its way down. Otherwise prepares its runtime directory and starts it,
   * answering once it runs (or failed to come up) or after `waitMs`.
   */
  start(params: StartParams, waitMs: number, signal: AbortSignal): Promise<ServiceStartResult> {
    parseServiceCoordinate(params.coordinate);
    parseCoordinate(params.artifact);
    return this.#locks.run(params.coordinate, async () => {
      const unit = this.#units.get(params.coordinate);
      const fingerprint = startFingerprint({
        artifact: params.artifact,
        options: params.options ?? {},
        restart: params.restart,
        overrides: params.overrides,
      });
      if (unit?.active) {
        if (unit.record.fingerprint === fingerprint)
          return { ...unit.info(), already_running: true, prepared: [] };
        throw new ServiceConflictError(
          params.coordinate,
          `runs with ${unit.artifact === params.artifact ? 'other options' : unit.artifact}; stop it first`,
        );
      }
      if (unit && (unit.state === 'stopping' || unit.state === 'draining')) {
        throw new ServiceConflictError(params.coordinate, `is ${unit.state}; wait until it has stopped`);
      }
      return this.#launch(unit, params, fingerprint, waitMs, signal);
    });
  }

  async #launch(
    existing: ServiceUnit | undefined,
    params: StartParams,
    fingerprint: string,
    waitMs: number,
    signal: AbortSignal,
  ): Promise<ServiceStartResult> {
    const { spec, softwareDir } = await this.#resolve({ ...params, options: params.options ?? {} });
    const account = await this.#accountFor(params.coordinate);
    const runtimeDir = this.runtimeDirOf(params.coordinate);
    await this.#makeRuntimeDir(runtimeDir, account);
    const runtime = await PinnedDir.open(runtimeDir);
    let prepared;
    try {
      await this.#writeOptions(runtime, spec.options);
      prepared = await prepareRuntime(spec.prepare, {
        coordinate: params.coordinate,
        softwareDir,
        runtime,
        staging: this.#staging,
        owner: account.uid !== undefined ? { uid: account.uid, gid: account.gid ?? account.uid } : undefined,
        placeholders: spec.context,
        net: this.#o.net,
        signal,
        logger: this.#log,
      });
    } finally {
      await runtime.close();
    }
    const now = Date.now();
    const record: ServiceRecord = {
      format: 1,
      coordinate: params.coordinate,
      artifact: params.artifact,
      options: params.options ?? {},
      restart: params.restart,
      overrides: params.overrides,
      fingerprint,
      desired: 'running',
      state: existing?.state ?? 'stopped',
      since: existing?.record.since ?? now,
      process: null,
      restarts: 0,
      restartTimes: [],
      lastExits: existing?.record.lastExits ?? [],
      bootId: this.#o.bootId,
    };
    let unit = existing;
    if (unit && unit.artifact !== params.artifact) {
      // Another version: the unit's software directory changes with it.
      await unit.close();
      this.#units.delete(params.coordinate);
      unit = undefined;
    }
    unit ??= this.#unit(record, account);
    await unit.start(record, spec, waitMs, signal);
    return { ...unit.info(), already_running: false, prepared };
  }

  /** `<prefix>/runtime/<cell>/<user>/<service>/<instance>`: the parents are the agent's, the directory the service's. */
  async #makeRuntimeDir(dir: string, account: ServiceAccount): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    if (account.uid !== undefined) await lchown(dir, account.uid, account.gid ?? account.uid);
  }

  async #writeOptions(runtime: PinnedDir, options: Record<string, unknown>): Promise<void> {
    const temp = join(this.#staging, `${OPTIONS_FILE}.${randomBytes(6).toString('hex')}`);
    await writeFile(temp, `${JSON.stringify(options, null, 2)}\n`, { mode: 0o644, flag: 'wx' });
    // A rename replaces whatever the service put there, never following a symlink.
    await runtime.moveIn(temp, OPTIONS_FILE).catch(async (err: unknown) => {
      await rm(temp, { force: true });
      throw err;
    });
  }

  /**
   * The service's `logs/`, pinned: made and owned by the agent, so the
   * service (which owns the directory around it) cannot add, swap or link
   * files in it. A `logs` the service replaced is moved aside.
   */
  async #pinLogs(runtimeDir: string): Promise<PinnedDir> {
    const runtime = await PinnedDir.open(runtimeDir);
    try {
      try {
        const logs = await runtime.child('logs', { mode: 0o755 });
        if ((await logs.stat()).uid === process.getuid?.()) return logs;
        await logs.close();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTDIR' && code !== 'ELOOP') throw err;
      }
      const aside = `logs.replaced-${Date.now()}`;
      this.#log.warn('the service replaced its logs directory; moved aside', { dir: runtimeDir, aside });
      await rename(runtime.path('logs'), runtime.path(aside));
      return await runtime.child('logs', { mode: 0o755 });
    } finally {
      await runtime.close();
    }
  }

  stop(coordinate: string, forget: boolean): Promise<ServiceStopResult> {
    return this.#locks.run(coordinate, async () => {
      const unit = this.#get(coordinate);
      await unit.stop();
      const info = unit.info();
      if (forget) {
        await unit.forget();
        this.#units.delete(coordinate);
        await this.#records.remove(coordinate);
        this.#emit({
          coordinate,
          artifact: info.artifact,
          from: info.state,
          to: 'stopped',
          pid: null,
          restarts: info.restarts,
          forgotten: true,
          at: new Date().toISOString(),
        });
        this.#log.info('service forgotten', { coordinate });
      }
      return { ...info, forgotten: forget };
    });
  }

  drain(coordinate: string, timeoutMs: number | undefined, signal: AbortSignal): Promise<ServiceInfo> {
    return this.#locks.run(coordinate, async () => {
      const unit = this.#get(coordinate);
      await unit.drain(timeoutMs, signal);
      return unit.info();
    });
  }

  /** Stop, then start again with what it was started with (preparing its directory again). */
  restart(coordinate: string, waitMs: number, signal: AbortSignal): Promise<ServiceStartResult> {
    return this.#locks.run(coordinate, async () => {
      const unit = this.#get(coordinate);
      if (unit.state === 'draining') throw new ServiceConflictError(coordinate, 'is draining; stop it first');
      await unit.stop();
      const r = unit.record;
      const params: StartParams = {
        coordinate,
        artifact: r.artifact,
        options: r.options,
        restart: r.restart,
        overrides: r.overrides,
      };
      return this.#launch(unit, params, r.fingerprint, waitMs, signal);
    });
  }

  status(coordinate: string): ServiceInfo {
    return this.#get(coordinate).info();
  }

  list(): ServiceInfo[] {
    return [...this.#units.values()]
      .sort((a, b) => a.coordinate.localeCompare(b.coordinate))
      .map((u) => u.info());
  }

  logs(coordinate: string, lines: number, maxBytes: number): Promise<LogTail> {
    return this.#get(coordinate).log.tail(lines, maxBytes);
  }

  /** Delivers the service's output as it is written; returns the function that stops it. */
  follow(coordinate: string, listener: (chunk: Buffer) => void): () => void {
    return this.#get(coordinate).log.subscribe(listener);
  }

  /** For the artifact store: a version a service runs (or will restart) is not removed without force. */
  usesArtifact(artifact: string): boolean {
    for (const unit of this.#units.values()) if (unit.artifact === artifact && unit.usesArtifact) return true;
    return false;
  }

  /** Services by state, for the heartbeat. */
  counts(): ServiceCounts {
    const counts: ServiceCounts = {};
    for (const unit of this.#units.values()) counts[unit.state] = (counts[unit.state] ?? 0) + 1;
    return Object.fromEntries(
      SERVICE_STATES.filter((s) => counts[s] !== undefined).map((s) => [s, counts[s]]),
    );
  }

  /** Brief per-service state, for the local status endpoint. */
  brief(): { coordinate: string; state: string; pid: number | null }[] {
    return this.list().map((s) => ({ coordinate: s.coordinate, state: s.state, pid: s.pid }));
  }

  /** The agent is stopping: services keep running, for the next agent to adopt. */
  async close(): Promise<void> {
    await Promise.all([...this.#units.values()].map((u) => u.close()));
  }
}
