import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger, ServiceEvent, ServiceExit, ServiceInfo, ServiceState } from '@ur/protocol/wire';
import { processIdentity } from '../journal/process-identity.js';
import { DrainTimeoutError, ServiceConflictError, ServiceStartFailedError } from './errors.js';
import { waitHealthy } from './health-check.js';
import type { PinnedDir } from './pinned-dir.js';
import { closeFd, createLogPipe, openAgentEnd, openServiceEnd, pumpPipe } from './log-pipe.js';
import {
  adoptedProcess,
  endGroup,
  isSameProcess,
  liveMembers,
  signalProcess,
  spawnedProcess,
  type ExitInfo,
  type ServiceProcess,
} from './process-group.js';
import { compileRestartPolicy, decideRestart, restartPolicyView } from './restart-policy.js';
import { RotatingLog } from './rotating-log.js';
import type { ServiceRecord, ServiceRecords } from './service-record.js';
import type { ServiceSpec } from './service-spec.js';
import type { ServiceAccount } from './service-user.js';

/** A transition, as the unit reports it; the supervisor adds node id and sequence. */
export type UnitEvent = Omit<ServiceEvent, 'type' | 'node_id' | 'seq'>;

export interface UnitDeps {
  records: ServiceRecords;
  runtimeDir: string;
  softwareDir: string;
  account: ServiceAccount;
  bootId: string | undefined;
  logger: Logger;
  /** Log limits until the spec is known. */
  logDefaults: { maxBytes: number; files: number };
  emit(event: UnitEvent): void;
  /** Resolves the spec from the record again (after an agent restart). */
  resolve(record: ServiceRecord): Promise<ServiceSpec>;
  /** Opens the service's logs directory safely (see PinnedDir). */
  pinLogs(): Promise<PinnedDir>;
}

/** Exits kept per service. */
const MAX_EXITS = 10;
/** Longest wait for a stopped process's exit to be noticed. */
const EXIT_NOTICE_MS = 10_000;
/** Default stop signal and grace for a service whose spec cannot be resolved any more. */
const FALLBACK_STOP = { signal: 'SIGTERM' as NodeJS.Signals, graceMs: 10_000 };

const ACTIVE: readonly ServiceState[] = ['starting', 'running', 'backoff'];

type Ending = 'stop' | 'drain' | 'health';

/**
 * One supervised service: its process (spawned or adopted), its log, its
 * record, and the state machine of the README (starting, running,
 * draining, stopping, stopped, exited, backoff, failed). Requests (start,
 * stop, drain) are serialized by the supervisor; what happens on its own
 * (an exit, a restart after the backoff, a health check) checks the
 * generation, which every request moves on, so it never acts on a state a
 * request has since changed.
 */
export class ServiceUnit {
  readonly coordinate: string;
  readonly log: RotatingLog;
  readonly #deps: UnitDeps;
  readonly #logger: Logger;
  #record: ServiceRecord;
  #spec: ServiceSpec | undefined;
  #proc: ServiceProcess | undefined;
  #pipes = new Set<Socket>();
  #reported: ServiceState | null = null;
  #ending: Ending | undefined;
  #generation = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #health: AbortController | undefined;
  #launching: Promise<void> | undefined;
  #listeners = new Set<() => void>();
  #persisting: Promise<void> = Promise.resolve();
  /** Why the last start did not come up (spawn error, health check). */
  #problem: string | undefined;
  #closed = false;

  constructor(record: ServiceRecord, deps: UnitDeps) {
    this.coordinate = record.coordinate;
    this.#record = record;
    this.#deps = deps;
    this.#logger = deps.logger.child({ service: record.coordinate });
    this.log = new RotatingLog(join(deps.runtimeDir, 'logs'), deps.logDefaults, () => deps.pinLogs());
  }

  get record(): ServiceRecord {
    return this.#record;
  }

  get state(): ServiceState {
    return this.#record.state;
  }

  get artifact(): string {
    return this.#record.artifact;
  }

  /** Wanted running and running, starting or about to restart. */
  get active(): boolean {
    return this.#record.desired === 'running' && ACTIVE.includes(this.#record.state);
  }

  /** A process of it may be alive (or will be again): its artifact is in use. */
  get usesArtifact(): boolean {
    return this.#proc !== undefined || this.active;
  }

  info(): ServiceInfo {
    const r = this.#record;
    const restart = this.#spec?.restart ?? compileRestartPolicy(r.restart, r.overrides?.restart);
    return {
      coordinate: r.coordinate,
      artifact: r.artifact,
      state: r.state,
      desired: r.desired,
      since: new Date(r.since).toISOString(),
      pid: this.#proc?.pid ?? null,
      started_at: r.process ? new Date(r.process.startedAt).toISOString() : null,
      restarts: r.restarts,
      last_exits: r.lastExits,
      runtime_dir: this.#deps.runtimeDir,
      software_dir: this.#deps.softwareDir,
      ports: this.#spec?.ports ?? {},
      restart: restartPolicyView(restart),
      options: this.#spec?.options ?? r.options,
    };
  }

  /** Resolves once every record write so far is on disk. */
  persisted(): Promise<void> {
    return this.#persisting;
  }

  #persist(): void {
    if (this.#closed) return;
    const snapshot: ServiceRecord = { ...this.#record, bootId: this.#deps.bootId };
    this.#persisting = this.#persisting
      .then(() => this.#deps.records.write(snapshot))
      .catch((err: unknown) => {
        this.#logger.error('could not write the service record', { error: String(err) });
      });
  }

  #transition(to: ServiceState, exit?: ExitInfo): void {
    const from = this.#reported;
    this.#reported = to;
    const changed = this.#record.state !== to;
    this.#record.state = to;
    if (changed) this.#record.since = Date.now();
    this.#persist();
    const event: UnitEvent = {
      coordinate: this.coordinate,
      artifact: this.#record.artifact,
      from,
      to,
      pid: this.#proc?.pid ?? null,
      restarts: this.#record.restarts,
      at: new Date().toISOString(),
    };
    if (exit) {
      event.exit_status = exit.exitStatus;
      event.signal = exit.signal;
    }
    this.#logger.info('service state', { from, to, pid: event.pid, ...(exit ?? {}) });
    this.#deps.emit(event);
    for (const wake of [...this.#listeners]) wake();
  }

  /** Reports the current state once after an agent start (from: null), if nothing else has. */
  announce(): void {
    if (this.#reported === null) this.#transition(this.#record.state);
  }

  /** Resolves true once `done()` holds, false after `timeoutMs`. */
  #waitUntil(done: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
        signal?.removeEventListener('abort', stop);
        resolve(ok);
      };
      const check = (): void => {
        if (done()) finish(true);
      };
      const stop = (): void => finish(false);
      const timer = setTimeout(stop, timeoutMs);
      this.#listeners.add(check);
      signal?.addEventListener('abort', stop, { once: true });
    });
  }

  #stopSettings(): { signal: NodeJS.Signals; graceMs: number } {
    return this.#spec ? { signal: this.#spec.stopSignal, graceMs: this.#spec.stopTimeoutMs } : FALLBACK_STOP;
  }

  #recordExit(exit: ExitInfo): void {
    const entry: ServiceExit = {
      at: new Date().toISOString(),
      exit_status: exit.exitStatus,
      signal: exit.signal,
    };
    this.#record.lastExits = [...this.#record.lastExits, entry].slice(-MAX_EXITS);
  }

  /** Cancels what runs on its own (restart timer, launches, health checks) before a request acts. */
  async #takeOver(): Promise<void> {
    this.#generation += 1;
    clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    await this.#launching;
  }

  // ---- requests (serialized by the supervisor) ----

  /**
   * Starts the service with a (new) spec and waits until it is running, or
   * has failed to come up ({@link ServiceStartFailedError}), or `waitMs`
   * passed or `signal` aborted (then it is still starting).
   */
  async start(record: ServiceRecord, spec: ServiceSpec, waitMs: number, signal: AbortSignal): Promise<void> {
    if (this.#proc)
      throw new ServiceConflictError(this.coordinate, `still has a process (pid ${this.#proc.pid})`);
    await this.#takeOver();
    this.#record = {
      ...record,
      state: this.#record.state,
      since: this.#record.since,
      lastExits: this.#record.lastExits,
    };
    this.#spec = spec;
    this.log.configure(spec.logs);
    this.#problem = undefined;
    const generation = this.#generation;
    await this.#launch(generation);
    // What it came to first: a quick one-shot may have exited again by the time we look.
    let reached = 'starting' as ServiceState;
    await this.#waitUntil(
      () => {
        reached = this.#record.state;
        return reached !== 'starting' || generation !== this.#generation;
      },
      waitMs,
      signal,
    );
    await this.persisted();
    if (reached === 'running' || reached === 'starting') return;
    const state = this.#record.state;
    const last = this.#record.lastExits.at(-1);
    const ended =
      this.#problem ??
      (last?.signal
        ? `was killed by ${last.signal}`
        : `exited with status ${last?.exit_status ?? 'unknown'}`);
    const next =
      state === 'backoff'
        ? `; restarting per its policy (${spec.restart.policy})`
        : state === 'failed'
          ? '; not restarted (failed)'
          : '';
    const tail = await this.log.tail(5, 4096).catch(() => ({ lines: [] as string[] }));
    const output = tail.lines.length > 0 ? `; last output: ${tail.lines.join(' | ')}` : '';
    throw new ServiceStartFailedError(this.coordinate, `did not come up: it ${ended}${next}${output}`);
  }

  /** Stops the service: the stop signal to its group, SIGKILL after the stop timeout. */
  async stop(): Promise<void> {
    this.#record.desired = 'stopped';
    await this.#takeOver();
    const proc = this.#proc;
    if (proc) {
      this.#ending = 'stop';
      this.#health?.abort();
      this.#transition('stopping');
      const { signal, graceMs } = this.#stopSettings();
      const outcome = await endGroup(proc.pid, proc.startTime, signal, graceMs);
      if (outcome === 'killed') this.#logger.warn('service killed after the stop timeout', { graceMs });
      if (
        !(await this.#waitUntil(
          () => this.#proc !== proc && this.#record.state === 'stopped',
          EXIT_NOTICE_MS,
        ))
      ) {
        this.#logger.warn('service exit not noticed after the stop; recorded as stopped');
      }
    }
    if (this.#record.state !== 'stopped') this.#transition('stopped');
    await this.persisted();
  }

  /**
   * Drains the service: its drain signal to the main process (which tells
   * its own workers), no restart, and waits up to the drain timeout for it
   * to exit ({@link DrainTimeoutError} if it does not; it keeps draining).
   */
  async drain(timeoutMs: number | undefined, signal: AbortSignal): Promise<void> {
    if (this.#record.state === 'stopping') throw new ServiceConflictError(this.coordinate, 'is stopping');
    this.#record.desired = 'stopped';
    await this.#takeOver();
    const proc = this.#proc;
    if (!proc) {
      if (this.#record.state !== 'stopped') this.#transition('stopped');
      await this.persisted();
      return;
    }
    const spec = this.#spec;
    const wait = timeoutMs ?? spec?.drainTimeoutMs ?? 60_000;
    if (this.#record.state !== 'draining') {
      this.#ending = 'drain';
      this.#health?.abort();
      this.#transition('draining');
      signalProcess(proc.pid, spec?.drainSignal ?? 'SIGTERM');
    }
    const drained = await this.#waitUntil(() => this.#record.state === 'stopped', wait, signal);
    await this.persisted();
    if (!drained) throw new DrainTimeoutError(this.coordinate, wait);
  }

  // ---- on its own ----

  /** Spawns the process (unless a request moved the generation on meanwhile). */
  #launch(generation: number): Promise<void> {
    const launching = this.#spawn(generation).catch((err: unknown) => {
      this.#logger.error('service launch failed', { error: String(err) });
      this.#problem = `could not be started: ${String(err)}`;
      this.#recordExit({ exitStatus: null, signal: null });
      this.#transition('failed');
    });
    this.#launching = launching;
    return launching;
  }

  async #spawn(generation: number): Promise<void> {
    const spec = this.#spec;
    if (!spec || generation !== this.#generation || this.#closed) return;
    this.#transition('starting');
    const pipe = join(this.#deps.records.dir, `${this.coordinate}.${randomBytes(4).toString('hex')}.fifo`);
    await createLogPipe(pipe);
    if (generation !== this.#generation || this.#closed) {
      await rm(pipe, { force: true });
      return;
    }
    const writer = openServiceEnd(pipe);
    let child: ChildProcess;
    try {
      this.#readPipe(pipe);
      const { uid, gid } = this.#deps.account;
      child = spawn(spec.command, spec.args, {
        cwd: this.#deps.runtimeDir,
        env: spec.env,
        detached: true,
        stdio: ['ignore', writer, writer],
        ...(uid !== undefined ? { uid, gid } : {}),
      });
    } finally {
      closeFd(writer);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
      await rm(pipe, { force: true });
      this.#problem = this.#spawnProblem(spec, err);
      this.#logger.error('service could not be spawned', { error: this.#problem });
      this.#recordExit({ exitStatus: err.code === 'ENOENT' ? 127 : 126, signal: null });
      // The same command would fail the same way: no restarts.
      this.#transition('failed');
      return;
    }
    child.on('error', () => undefined);
    const identity = processIdentity(pid, this.#deps.bootId ?? 'unknown');
    const proc = spawnedProcess(child, pid, identity?.startTime ?? '');
    this.#watch(proc, { pid, startTime: proc.startTime, startedAt: Date.now(), pipe });
    if (spec.health) this.#checkHealth(proc, generation);
    else this.#transition('running');
  }

  #spawnProblem(spec: ServiceSpec, err: NodeJS.ErrnoException): string {
    const account = this.#deps.account;
    if (err.code === 'EACCES' && account.uid !== undefined) {
      return (
        `could not be started as ${account.name}: ${err.message} (every directory above ` +
        `${this.#deps.runtimeDir} must be searchable by that user, and ${spec.command} executable)`
      );
    }
    if (err.code === 'ENOENT') return `could not be started: ${spec.command} not found (${err.message})`;
    return `could not be started: ${err.message}`;
  }

  #watch(proc: ServiceProcess, recorded: ServiceRecord['process']): void {
    this.#proc = proc;
    this.#record.process = recorded;
    this.#persist();
    void proc.exited.then((exit) => this.#exited(proc, exit));
  }

  #readPipe(pipe: string): void {
    let socket: Socket;
    try {
      socket = openAgentEnd(pipe);
    } catch (err) {
      this.#logger.warn('cannot read the service output pipe; its output is lost', {
        pipe,
        error: String(err),
      });
      return;
    }
    this.#pipes.add(socket);
    void pumpPipe(socket, this.log, this.#logger).finally(() => {
      this.#pipes.delete(socket);
      // End of file: nothing writes to it any more. Destroyed by close(): the next agent reads on.
      if (!this.#closed) void rm(pipe, { force: true });
    });
  }

  #checkHealth(proc: ServiceProcess, generation: number): void {
    const spec = this.#spec;
    if (!spec?.health) return;
    const controller = new AbortController();
    this.#health = controller;
    void proc.exited.then(() => controller.abort());
    void waitHealthy(spec.health, controller.signal).then(async (healthy) => {
      if (this.#proc !== proc || generation !== this.#generation || this.#record.state !== 'starting') return;
      if (healthy) {
        this.#transition('running');
        return;
      }
      if (controller.signal.aborted) return;
      this.#problem = `failed its ${spec.health!.type} health check on port ${spec.health!.port} for ${spec.health!.timeoutMs / 1000} s`;
      this.#logger.warn('service failed its health check; ending it', { port: spec.health!.port });
      this.#ending = 'health';
      await endGroup(proc.pid, proc.startTime, spec.stopSignal, spec.stopTimeoutMs);
    });
  }

  /** The main process ended: clear up its group, then stop, exit, fail or restart per policy. */
  async #exited(proc: ServiceProcess, exit: ExitInfo): Promise<void> {
    if (this.#proc !== proc || this.#closed) return;
    this.#health?.abort();
    const ending = this.#ending;
    this.#ending = undefined;
    this.#recordExit(exit);
    // Whatever it started goes with it, so a restart never meets its leftovers.
    if (ending !== 'stop' && (await liveMembers(proc.pid, proc.startTime)).length > 0) {
      const { signal, graceMs } = this.#stopSettings();
      this.#logger.info('ending what the service left running in its group', { pgid: proc.pid });
      await endGroup(proc.pid, proc.startTime, signal, graceMs);
    }
    if (this.#closed) return;
    this.#proc = undefined;
    this.#record.process = null;
    if (ending === 'stop' || ending === 'drain' || this.#record.desired === 'stopped') {
      this.#transition('stopped', exit);
      return;
    }
    this.#afterFailure(exit);
  }

  /** An unrequested end: the restart policy decides. */
  #afterFailure(exit: ExitInfo): void {
    const policy =
      this.#spec?.restart ?? compileRestartPolicy(this.#record.restart, this.#record.overrides?.restart);
    const now = Date.now();
    const decision = decideRestart(policy, exit, this.#record.restartTimes, now);
    if (decision.action === 'exit') {
      this.#transition('exited', exit);
      return;
    }
    if (decision.action === 'fail') {
      this.#logger.error('service restarted too often; giving up (failed)', {
        restarts: decision.recent,
        windowMs: policy.windowMs,
      });
      this.#transition('failed', exit);
      return;
    }
    this.#transition('backoff', exit);
    const generation = this.#generation;
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      if (generation !== this.#generation || this.#closed) return;
      const at = Date.now();
      this.#record.restarts += 1;
      this.#record.restartTimes = [...this.#record.restartTimes, at].filter((t) => t > at - policy.windowMs);
      void this.#launch(generation);
    }, decision.delayMs);
  }

  /**
   * After an agent restart: adopts the recorded process if it is still the
   * same one (pid and start time, same boot), else treats it as ended. A
   * new boot brings back what should run, with fresh counters.
   */
  async recover(): Promise<void> {
    const r = this.#record;
    const rebooted =
      r.bootId === undefined || this.#deps.bootId === undefined || r.bootId !== this.#deps.bootId;
    try {
      this.#spec = await this.#deps.resolve(r);
      this.log.configure(this.#spec.logs);
    } catch (err) {
      this.#problem = `cannot be resolved any more: ${String(err)}`;
      this.#logger.warn('service spec cannot be resolved (artifact removed?)', { error: String(err) });
    }
    const recorded = r.process;
    if (recorded && !rebooted && (await isSameProcess(recorded.pid, recorded.startTime))) {
      this.#adopt(recorded);
      return;
    }
    if (recorded && !rebooted) {
      // The leader is gone; what it started may not be.
      const { signal, graceMs } = this.#stopSettings();
      await endGroup(recorded.pid, recorded.startTime, signal, graceMs);
    }
    if (recorded) {
      this.#recordExit({ exitStatus: null, signal: null });
      r.process = null;
      void rm(recorded.pipe, { force: true });
    }
    const exit: ExitInfo = { exitStatus: null, signal: null };
    if (r.desired === 'stopped') {
      if (r.state !== 'stopped' && r.state !== 'exited' && r.state !== 'failed')
        this.#transition('stopped', recorded ? exit : undefined);
      return;
    }
    if (!this.#spec) {
      this.#transition('failed');
      return;
    }
    if (rebooted) {
      this.#logger.info('new boot: starting the service again');
      r.restarts = 0;
      r.restartTimes = [];
      void this.#launch(this.#generation);
      return;
    }
    if (ACTIVE.includes(r.state)) {
      this.#logger.warn('the service ended while the agent was away', { pid: recorded?.pid });
      this.#afterFailure(exit);
    }
  }

  #adopt(recorded: NonNullable<ServiceRecord['process']>): void {
    const proc = adoptedProcess(recorded.pid, recorded.startTime);
    this.#readPipe(recorded.pipe);
    this.#watch(proc, recorded);
    this.#logger.info('adopted the running service', { pid: recorded.pid });
    const r = this.#record;
    if (r.desired === 'running') {
      if (r.state === 'starting' && this.#spec?.health) this.#checkHealth(proc, this.#generation);
      else if (r.state !== 'running') this.#transition('running');
      return;
    }
    if (r.state === 'draining') {
      this.#ending = 'drain';
      return;
    }
    // Wanted stopped but still there (the agent died while stopping it).
    this.#ending = 'stop';
    this.#transition('stopping');
    const { signal, graceMs } = this.#stopSettings();
    void endGroup(proc.pid, proc.startTime, signal, graceMs);
  }

  /**
   * The agent is stopping: stop watching and reading. The process keeps
   * running (and writing into its pipe), for the next agent to adopt.
   */
  async close(): Promise<void> {
    this.#generation += 1;
    clearTimeout(this.#restartTimer);
    this.#health?.abort();
    await this.#launching;
    await this.persisted();
    this.#closed = true;
    this.#proc?.release();
    for (const socket of this.#pipes) socket.destroy();
    await this.log.close();
  }

  /** Forgotten: nothing more to write. */
  forget(): Promise<void> {
    return this.close();
  }
}
