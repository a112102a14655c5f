import { randomUUID } from 'node:crypto';
import {
  FanOutLimitError,
  formatFanOutLimit,
  parseFanOutLimit,
  redactRequest,
  type ExecuteRequest,
  type JobCreateBody,
  type Logger,
} from '@ur/protocol';
import type { DispatchResult } from '../command-dispatcher.js';
import { ApiError, JobFinishedError, JobNotFoundError, NoTargetNodesError } from '../errors.js';
import { selectNodes, selectorFrom } from '../http/node-selection.js';
import type { JobRow, NewJob, NewJobNode } from '../store/job-store.js';
import type { NodeStore } from '../store/node-store.js';
import { JobRunner, type JobRunnerDeps, type JobRunnerOptions } from './job-runner.js';

export interface JobManagerDeps extends JobRunnerDeps {
  nodes: NodeStore;
}

export interface JobManagerOptions extends JobRunnerOptions {
  /** This headnode's id: the owner of the jobs it runs. */
  owner: string;
  /** Another headnode takes a job over when its owner has not renewed it for this long. */
  leaseTtlMs: number;
  /** A job taken over after its owner was gone longer than this ends its unsent nodes as skipped. */
  resumeWindowMs: number;
  defaultTimeoutSeconds: number;
}

/** A job as the API asks for it. */
export interface JobRequest extends JobCreateBody {
  /** Who asked, for the record. */
  createdBy: string;
}

function limit(field: string, value: number | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return String(formatFanOutLimit(parseFanOutLimit(field, value)));
  } catch (err) {
    if (err instanceof FanOutLimitError) throw new ApiError('VALIDATION_FAILED', err.message, { cause: err });
    throw err;
  }
}

/**
 * Creates jobs and runs them: one {@link JobRunner} per running job this
 * headnode owns. Ownership is a lease on the job row, renewed while the
 * headnode lives; running jobs whose owner stopped renewing (it died, or
 * handed them over on a graceful stop) are taken over, by a peer or by the
 * same headnode after a restart, and go on from their stored rows: pending
 * nodes are sent, replies of nodes in flight are recorded as they arrive.
 */
export class JobManager {
  readonly #d: JobManagerDeps;
  readonly #o: JobManagerOptions;
  readonly #log: Logger;
  readonly #runners = new Map<string, JobRunner>();
  /** Jobs being created or started here: owned, but without a runner yet. */
  readonly #starting = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopping = false;

  constructor(deps: JobManagerDeps, options: JobManagerOptions) {
    this.#d = deps;
    this.#o = options;
    this.#log = deps.logger;
  }

  /** Takes over what is orphaned now, then keeps renewing and looking. */
  async start(): Promise<void> {
    await this.tick();
    const interval = Math.max(50, Math.min(1_000, this.#o.leaseTtlMs / 3));
    this.#timer = setInterval(() => void this.tick(), interval);
    this.#timer.unref();
  }

  /** Jobs this headnode runs now. */
  get running(): string[] {
    return [...this.#runners.keys()];
  }

  /** Creates a job for the nodes `target` selects and starts sending; resolves once it is stored. */
  async create(request: JobRequest): Promise<JobRow> {
    const concurrency = limit('concurrency', request.concurrency) ?? '100%';
    const maxErrors = limit('max_errors', request.max_errors) ?? null;
    const nodes = await this.#resolve(request.target);
    const command = request.command;
    const timeoutSeconds = request.timeout ?? command.timeout ?? this.#o.defaultTimeoutSeconds;
    const { job } = await this.#start(
      {
        id: randomUUID(),
        kind: 'fanout',
        target: request.target,
        // Secret env values are not stored; the runner gets them from memory.
        command: redactRequest(command),
        type: command.type,
        concurrency,
        maxErrors,
        batchWaitMs: Math.round((request.batch_wait ?? 0) * 1000),
        timeoutMs: Math.round(timeoutSeconds * 1000),
        stream: request.stream ?? command.stream ?? false,
        createdAt: Date.now(),
        createdBy: request.createdBy,
        owner: this.#o.owner,
      },
      nodes,
      false,
      command,
    );
    this.#log.info('job created', { job: job.id, target: job.target, nodes: job.node_count });
    return job;
  }

  /**
   * A synchronous single-node execute as a job of one node: resolves with
   * the job once stored and the outcome of the dispatch (the reply, or the
   * dispatcher's error: offline, expired, no reply).
   */
  async executeOne(
    nodeId: string,
    request: ExecuteRequest,
    timeoutSeconds: number,
    createdBy: string,
  ): Promise<{ job: JobRow; outcome: Promise<DispatchResult> }> {
    const { job, runner } = await this.#start(
      {
        id: randomUUID(),
        kind: 'execute',
        target: nodeId,
        command: redactRequest(request),
        type: request.type,
        concurrency: '1',
        maxErrors: null,
        batchWaitMs: 0,
        timeoutMs: Math.round(timeoutSeconds * 1000),
        stream: 'stream' in request && request.stream === true,
        createdAt: Date.now(),
        createdBy,
        owner: this.#o.owner,
      },
      // Never refused for its stored status: only an unroutable publish is offline.
      [{ nodeId, requestId: randomUUID() }],
      true,
      request,
    );
    return { job, outcome: runner.outcome(nodeId) };
  }

  /** Stores a job and starts its runner; meanwhile the lease upkeep leaves the job alone. */
  async #start(
    job: NewJob,
    nodes: readonly NewJobNode[],
    watchOutcomes: boolean,
    command: ExecuteRequest,
  ): Promise<{ job: JobRow; runner: JobRunner }> {
    this.#starting.add(job.id);
    try {
      const row = await this.#d.jobs.create(job, nodes);
      return { job: row, runner: await this.#run(row, watchOutcomes, command) };
    } finally {
      this.#starting.delete(job.id);
    }
  }

  /** Asks a job to stop; the job as it is now. */
  async cancel(id: string, by: string): Promise<JobRow> {
    const row = await this.#d.jobs.cancel(id, by);
    if (!row) throw new JobNotFoundError(id);
    if (row.state !== 'running') throw new JobFinishedError(id, row.state);
    this.#log.info('job cancel requested', { job: id, by });
    // The owner, here or elsewhere, also learns it from the job.cancelling event.
    this.#runners.get(id)?.cancelled();
    return row;
  }

  /** The nodes a target selects, down or left ones ending offline at once, plus named ids the inventory lacks. */
  async #resolve(target: string): Promise<NewJobNode[]> {
    const selector = selectorFrom(target);
    const rows = await selectNodes(this.#d.nodes, selector);
    const nodes: NewJobNode[] = rows.map((row) => ({
      nodeId: row.id,
      requestId: randomUUID(),
      offline:
        row.status === 'down' || row.status === 'left'
          ? `node ${row.id} is ${row.status} since ${new Date(row.status_since).toISOString()} (${row.status_reason}); nothing was sent`
          : undefined,
    }));
    const found = new Set(rows.map((r) => r.id));
    for (const id of selector.ids) {
      // Named but not in the inventory (never seen, or forgotten): tried, never left out.
      if (!found.has(id)) nodes.push({ nodeId: id, requestId: randomUUID(), offline: undefined });
      found.add(id);
    }
    if (nodes.length === 0) throw new NoTargetNodesError(target);
    return nodes;
  }

  /** `command`: the job's command with its secrets, when this headnode created it (not stored). */
  async #run(row: JobRow, watchOutcomes: boolean, command?: ExecuteRequest): Promise<JobRunner> {
    const runner = await JobRunner.start(row, this.#d, this.#o, watchOutcomes, command);
    this.#runners.set(row.id, runner);
    void runner.done.then(() => {
      if (this.#runners.get(row.id) === runner) this.#runners.delete(row.id);
    });
    return runner;
  }

  /** Renews this headnode's jobs and takes over orphaned ones (never throws). */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  async #tick(): Promise<void> {
    if (this.#stopping) return;
    const jobs = this.#d.jobs;
    try {
      const before = [...this.#runners.entries()];
      const owned = await jobs.renew(this.#o.owner);
      for (const [id, runner] of before) {
        if (owned.has(id) || this.#runners.get(id) !== runner) continue;
        // Finished, or another headnode took it over (this one was thought dead).
        this.#runners.delete(id);
        void runner.close();
      }
      for (const id of owned) {
        if (this.#runners.has(id) || this.#starting.has(id) || this.#stopping) continue;
        // Owned without a runner: starting it failed (the store was away); try again.
        const row = await jobs.get(id);
        if (row?.state === 'running' && !this.#runners.has(id) && !this.#starting.has(id)) {
          this.#log.info('starting the runner of a job this headnode owns', { job: id });
          await this.#run(row, false);
        }
      }
      const now = Date.now();
      for (const orphan of await jobs.orphans(this.#o.leaseTtlMs, now)) {
        if (this.#stopping) return;
        if (this.#runners.has(orphan.id)) continue;
        const adopted = await jobs.adopt(orphan, this.#o.owner, now);
        if (!adopted) continue;
        const away = now - orphan.owner_seen_at;
        this.#log.info('taking over job', { job: orphan.id, from: orphan.owner, awayMs: away });
        if (away > this.#o.resumeWindowMs) {
          const skipped = await jobs.endPending(
            orphan.id,
            'skipped',
            `not sent: the headnode running the job was gone ${Math.round(away / 1000)} s, longer than the resume window`,
          );
          if (skipped > 0)
            this.#log.warn('job not resumed: unsent nodes skipped', { job: orphan.id, skipped });
        }
        await this.#run(adopted, false);
      }
    } catch (err) {
      this.#log.warn('job lease upkeep failed', { error: String(err) });
    }
  }

  /** Stops sending and hands the running jobs over (to a restart of this headnode, or a peer). */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    await this.#ticking;
    const runners = [...this.#runners.values()];
    this.#runners.clear();
    await Promise.all(runners.map((r) => r.close()));
    await this.#d.jobs
      .release(this.#o.owner)
      .catch((err: unknown) => this.#log.warn('handing jobs over failed', { error: String(err) }));
  }
}
