import {
  isErrorNodeState,
  isFinalNodeState,
  isJobEvent,
  nodeStateRank,
  parseFanOutLimit,
  redactRequest,
  resolveFanOutLimit,
  type ExecuteRequest,
  type JobNodeState,
  type Logger,
  type ProgressEvent,
  type UrEvent,
} from '@ur/protocol';
import type { CommandDispatcher, DispatchResult } from '../command-dispatcher.js';
import { CommandNotPendingError, JobFinishedError, NodeOfflineError } from '../errors.js';
import type { EventBus } from '../event-bus.js';
import type { CommandRow, CommandStore, ProgressState } from '../store/command-store.js';
import type { JobRow, JobStore } from '../store/job-store.js';

export interface JobRunnerDeps {
  jobs: JobStore;
  commands: CommandStore;
  /** Records a node's progress, in order with the replies (the headnode's InventoryWriter). */
  recordProgress: (requestId: string, state: ProgressState) => void;
  dispatcher: CommandDispatcher;
  bus: EventBus;
  logger: Logger;
}

export interface JobRunnerOptions {
  /** Before sending again after the broker or the store failed a send. */
  retryDelayMs: number;
  /** Timeout of the cancel commands sent to running nodes, in seconds. */
  cancelTimeoutSeconds: number;
  /** How often the runner re-reads its job's rows, in case it missed a change. */
  reconcileIntervalMs: number;
}

interface NodeEntry {
  nodeId: string;
  requestId: string;
  state: JobNodeState;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined); // observed by whoever asks for it
  return { promise, resolve, reject };
}

/**
 * Runs one job on the headnode that owns it: a sliding window of at most
 * `concurrency` nodes in flight; a node's slot frees when its final state
 * is stored (and `batch_wait` later), whichever headnode recorded it, since
 * the runner follows the stored `job.node.*` events on the bus. So a runner
 * that takes over a job after its headnode died goes on where it stopped:
 * the rows say which nodes are pending and which are in flight.
 */
export class JobRunner {
  readonly id: string;
  readonly #job: JobRow;
  readonly #d: JobRunnerDeps;
  readonly #o: JobRunnerOptions;
  readonly #log: Logger;
  readonly #request: ExecuteRequest;
  readonly #timeoutSeconds: number;
  readonly #window: number;
  readonly #maxErrors: number | undefined;
  readonly #nodes = new Map<string, NodeEntry>();
  /** Node ids to send, in order, from #head on; ids that ended meanwhile (cancelled, skipped) are passed over. */
  readonly #queue: string[] = [];
  #head = 0;
  readonly #inFlight = new Set<string>();
  readonly #dispatched = new Set<string>();
  /** Dispatched by this runner and not yet on the broker: a cancel must wait for the publish. */
  readonly #publishing = new Map<string, Promise<void>>();
  readonly #cancelOnPublish = new Set<string>();
  readonly #outcomes = new Map<string, Deferred<DispatchResult>>();
  /** When slots freed by finished nodes may be used again (batch_wait). */
  #slotsFreeAt: number[] = [];
  #errors = 0;
  #stopped = false;
  #cancelled = false;
  #closed = false;
  #completing = false;
  #pausedUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #buffered: UrEvent[] | undefined = [];
  #unsubscribe: () => void = () => undefined;
  readonly #done = deferred<JobRow>();

  private constructor(
    job: JobRow,
    deps: JobRunnerDeps,
    options: JobRunnerOptions,
    original?: ExecuteRequest,
  ) {
    this.id = job.id;
    this.#job = job;
    this.#d = deps;
    this.#o = options;
    this.#log = deps.logger.child({ job: job.id });
    const command = original ?? (JSON.parse(job.command) as ExecuteRequest);
    this.#timeoutSeconds = job.timeout_ms / 1000;
    this.#request =
      command.type === 'cancel'
        ? command
        : { ...command, timeout: this.#timeoutSeconds, ...(job.stream === 1 ? { stream: true } : {}) };
    const total = job.node_count;
    this.#window = resolveFanOutLimit(parseFanOutLimit('concurrency', job.concurrency), total);
    this.#maxErrors =
      job.max_errors === null
        ? undefined
        : resolveFanOutLimit(parseFanOutLimit('max_errors', job.max_errors), total);
  }

  /** Loads the job's rows and starts dispatching what is pending. */
  static async start(
    job: JobRow,
    deps: JobRunnerDeps,
    options: JobRunnerOptions,
    /** Keep each node's dispatch outcome for {@link outcome}. */
    watchOutcomes = false,
    /** The command with its secret env values; stored jobs have them redacted. */
    original?: ExecuteRequest,
  ): Promise<JobRunner> {
    const runner = new JobRunner(job, deps, options, original);
    // Subscribe before reading the rows: a change committed in between is
    // then in the buffer, and applying it again changes nothing.
    runner.#unsubscribe = deps.bus.subscribe((event) => runner.#onEvent(event));
    try {
      runner.#load(await deps.jobs.nodes(job.id));
    } catch (err) {
      runner.#unsubscribe();
      throw err;
    }
    const buffered = runner.#buffered ?? [];
    runner.#buffered = undefined;
    for (const event of buffered) runner.#onEvent(event);
    if (job.stopped_reason !== null) runner.#stopped = true;
    if (original === undefined && redactRequest(runner.#request) !== runner.#request) {
      // Taken over from a headnode that is gone: the secrets it had are not
      // stored, so what it had not sent cannot be sent.
      runner.#stopped = true;
      await deps.jobs.endPending(
        job.id,
        'skipped',
        'not sent: the command has secret env values, which are not stored; submit the job again',
      );
    }
    if (job.cancel_requested_at !== null) runner.cancelled();
    if (watchOutcomes) for (const nodeId of runner.#nodes.keys()) void runner.outcome(nodeId);
    runner.#reconcileTimer = setInterval(() => void runner.#reconcile(), options.reconcileIntervalMs);
    runner.#reconcileTimer.unref();
    runner.#pump();
    return runner;
  }

  /** Resolves with the finished job once every node has its final state. */
  get done(): Promise<JobRow> {
    return this.#done.promise;
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** The dispatch outcome for one node (the synchronous execute route waits for it). */
  outcome(nodeId: string): Promise<DispatchResult> {
    let d = this.#outcomes.get(nodeId);
    if (!d) {
      d = deferred();
      this.#outcomes.set(nodeId, d);
    }
    return d.promise;
  }

  #load(rows: readonly CommandRow[]): void {
    for (const row of rows) {
      this.#nodes.set(row.node_id, { nodeId: row.node_id, requestId: row.request_id, state: row.state });
      if (row.state === 'pending') this.#queue.push(row.node_id);
      else if (!isFinalNodeState(row.state)) this.#inFlight.add(row.node_id);
      else if (isErrorNodeState(row.state)) this.#errors++;
    }
    this.#checkErrors();
  }

  #onEvent(event: UrEvent): void {
    if (!isJobEvent(event) || event.job_id !== this.id) return;
    if (this.#buffered) {
      this.#buffered.push(event);
      return;
    }
    if ('node_id' in event) {
      this.#apply(event.node_id, event.data.state);
    } else if (event.type === 'job.cancelling') {
      this.cancelled();
    } else if (event.type === 'job.completed') {
      this.#finish();
    }
  }

  /** A node's stored state changed: states only move forward, and a final one never changes. */
  #apply(nodeId: string, state: JobNodeState): void {
    const entry = this.#nodes.get(nodeId);
    if (!entry || isFinalNodeState(entry.state)) return;
    if (!isFinalNodeState(state) && nodeStateRank(state) <= nodeStateRank(entry.state)) return;
    entry.state = state;
    if (!isFinalNodeState(state)) return;
    if (this.#inFlight.delete(nodeId) && this.#job.batch_wait_ms > 0)
      this.#slotsFreeAt.push(Date.now() + this.#job.batch_wait_ms);
    if (isErrorNodeState(state)) {
      this.#errors++;
      this.#checkErrors();
    }
    if (!this.#dispatched.has(nodeId))
      this.#outcomes
        .get(nodeId)
        ?.reject(new JobFinishedError(this.id, `node ${nodeId} ${state} before it was sent`));
    this.#pump();
  }

  #checkErrors(): void {
    if (this.#maxErrors === undefined || this.#stopped || this.#errors < this.#maxErrors) return;
    this.#stopped = true;
    const reason = `${this.#errors} node${this.#errors === 1 ? '' : 's'} failed (max_errors ${this.#job.max_errors})`;
    this.#log.info('job stops dispatching', { reason });
    this.#d.jobs.stopDispatching(this.id, reason).then(
      () => this.#pump(),
      (err: unknown) => this.#log.warn('stopping the job failed', { error: String(err) }),
    );
  }

  #sendable(nodeId: string): NodeEntry | undefined {
    const entry = this.#nodes.get(nodeId);
    return entry && !isFinalNodeState(entry.state) && !this.#inFlight.has(nodeId) ? entry : undefined;
  }

  #nextPending(): NodeEntry | undefined {
    while (this.#head < this.#queue.length) {
      const entry = this.#sendable(this.#queue[this.#head++] ?? '');
      if (entry) return entry;
    }
    return undefined;
  }

  /** Whether a node is left to send (passing over those that ended meanwhile, so this stays cheap). */
  #hasPending(): boolean {
    while (this.#head < this.#queue.length && !this.#sendable(this.#queue[this.#head] ?? '')) this.#head++;
    return this.#head < this.#queue.length;
  }

  /** Puts a node that could not be sent back at the front. */
  #requeue(nodeId: string): void {
    if (this.#head > 0) this.#queue[--this.#head] = nodeId;
    else this.#queue.unshift(nodeId);
  }

  #pump(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    this.#slotsFreeAt = this.#slotsFreeAt.filter((t) => t > now);
    if (!this.#stopped && now >= this.#pausedUntil) {
      while (this.#inFlight.size + this.#slotsFreeAt.length < this.#window) {
        const entry = this.#nextPending();
        if (!entry) break;
        this.#dispatch(entry);
      }
    }
    if (!this.#stopped && this.#hasPending()) {
      const wake = Math.max(this.#pausedUntil, Math.min(...this.#slotsFreeAt, Infinity));
      if (Number.isFinite(wake) && wake > now) {
        this.#timer = setTimeout(() => this.#pump(), wake - now);
        this.#timer.unref();
      }
    }
    this.#checkDone();
  }

  #dispatch(entry: NodeEntry): void {
    const { nodeId, requestId } = entry;
    this.#inFlight.add(nodeId);
    this.#dispatched.add(nodeId);
    let published = false;
    let settlePublish = (): void => undefined;
    this.#publishing.set(nodeId, new Promise<void>((resolve) => (settlePublish = resolve)));
    const donePublishing = (): void => {
      this.#publishing.delete(nodeId);
      settlePublish();
    };
    const outcome = this.#d.dispatcher.execute(nodeId, this.#request, this.#timeoutSeconds, {
      requestId,
      onProgress: this.#job.stream === 1 ? (event) => this.#onProgress(requestId, event) : undefined,
      onPublished: () => {
        published = true;
        donePublishing();
        if (this.#cancelOnPublish.delete(nodeId)) this.#sendCancel(entry);
      },
    });
    outcome.then(
      (result) => {
        this.#outcomes.get(nodeId)?.resolve(result);
      },
      (err: unknown) => {
        this.#outcomes.get(nodeId)?.reject(err instanceof Error ? err : new Error(String(err)));
        // Published but no reply: recorded as timed out or expired by whoever learns it.
        if (!published) void this.#notSent(entry, err).finally(donePublishing);
      },
    );
  }

  /** The dispatch failed before the request was on the broker. */
  async #notSent(entry: NodeEntry, err: unknown): Promise<void> {
    const { nodeId, requestId } = entry;
    if (err instanceof CommandNotPendingError) {
      // Cancelled or skipped meanwhile; its event ends the node.
      this.#inFlight.delete(nodeId);
      this.#pump();
      return;
    }
    if (err instanceof NodeOfflineError) {
      // Recorded offline (and the node marked down) by the dispatcher's
      // journal; its event frees the slot.
      return;
    }
    // The broker or the store failed: maybe recorded as sent, not published.
    // Back to pending, sent again later (under the same request id, which
    // our agents recognise should a copy have gone out after all).
    this.#log.warn('could not send; will retry', { nodeId, error: String(err) });
    try {
      await this.#d.commands.unclaim(requestId);
    } catch (unclaimErr) {
      // Still `sent` then: sending it again is refused, and it times out at its deadline.
      this.#log.warn('could not put a command back to pending', { nodeId, error: String(unclaimErr) });
    }
    this.#inFlight.delete(nodeId);
    this.#requeue(nodeId);
    this.#pausedUntil = Date.now() + this.#o.retryDelayMs;
    this.#pump();
  }

  #onProgress(requestId: string, event: ProgressEvent): void {
    const state = event.stage === 'accepted' ? 'accepted' : event.stage === 'started' ? 'running' : undefined;
    if (state !== undefined) this.#d.recordProgress(requestId, state);
  }

  /** The job was asked to stop: nothing more is sent, and the nodes in flight get a cancel. */
  cancelled(): void {
    if (this.#cancelled) return;
    this.#cancelled = true;
    this.#stopped = true;
    for (const nodeId of this.#inFlight) {
      const entry = this.#nodes.get(nodeId);
      if (!entry) continue;
      if (this.#publishing.has(nodeId)) this.#cancelOnPublish.add(nodeId);
      else this.#sendCancel(entry);
    }
    this.#pump();
  }

  #sendCancel(entry: NodeEntry): void {
    if (this.#closed) return;
    this.#log.info('cancelling on node', { nodeId: entry.nodeId, requestId: entry.requestId });
    this.#d.dispatcher
      .execute(entry.nodeId, { type: 'cancel', request_id: entry.requestId }, this.#o.cancelTimeoutSeconds)
      .catch((err: unknown) =>
        this.#log.warn('cancel command failed', { nodeId: entry.nodeId, error: String(err) }),
      );
  }

  #checkDone(): void {
    // Stopped jobs wait for the events of the nodes ended without being sent.
    if (this.#completing || this.#closed || this.#inFlight.size > 0 || this.#hasPending()) return;
    this.#completing = true;
    this.#d.jobs.complete(this.id).then(
      (row) => {
        this.#completing = false;
        if (row) {
          // A synchronous execute is one API call, answered with its outcome:
          // an info line for each would flood the log at hundreds per second.
          const level = row.kind === 'execute' ? 'debug' : 'info';
          this.#log[level]('job finished', { state: row.state });
          this.#finish(row);
        }
      },
      (err: unknown) => {
        this.#completing = false;
        this.#log.warn('completing the job failed', { error: String(err) });
      },
    );
  }

  /** Re-reads the job's rows: a safety net should a change not have reached the bus. */
  async #reconcile(): Promise<void> {
    if (this.#closed) return;
    try {
      const job = await this.#d.jobs.get(this.id);
      if (!job || job.state !== 'running') {
        this.#finish(job);
        return;
      }
      const rows = await this.#d.jobs.nodes(this.id);
      const queued = new Set(this.#queue.slice(this.#head));
      for (const row of rows) {
        this.#apply(row.node_id, row.state);
        // Pending in the store but lost here (a send that failed oddly): send it.
        if (row.state === 'pending' && !queued.has(row.node_id) && !this.#inFlight.has(row.node_id))
          this.#requeue(row.node_id);
      }
      if (this.#stopped && this.#hasPending()) {
        // The write that ended them failed earlier: end them now.
        const ending = this.#cancelled
          ? this.#d.jobs.endPending(this.id, 'cancelled', 'not sent: the job was cancelled')
          : this.#d.jobs.endPending(
              this.id,
              'skipped',
              `not sent: ${job.stopped_reason ?? 'the job stopped'}`,
            );
        await ending;
      }
      this.#pump();
    } catch (err) {
      this.#log.warn('re-reading the job failed', { error: String(err) });
    }
  }

  #finish(row?: JobRow): void {
    if (this.#closed) return;
    this.#close();
    if (row) this.#done.resolve(row);
    else
      void this.#d.jobs.get(this.id).then(
        (job) => job && this.#done.resolve(job),
        () => undefined,
      );
  }

  #close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    clearInterval(this.#reconcileTimer);
    this.#unsubscribe();
  }

  /**
   * Stops dispatching (headnode stopping, or another headnode took the job
   * over): resolves once nothing is half-sent. Replies still arrive and are
   * recorded; the next owner completes the job.
   */
  async close(): Promise<void> {
    this.#close();
    await Promise.allSettled([...this.#publishing.values()]);
  }
}
