import type { Logger } from '@ur/protocol';
import type { EventBus } from './event-bus.js';
import type { LegacyPinger } from './legacy-pinger.js';
import type { CommandStore } from './store/command-store.js';
import type { EventStore } from './store/event-store.js';
import type { HookStore } from './store/hook-store.js';
import type { JobStore } from './store/job-store.js';
import type { LivenessStore, TickResult } from './store/liveness-store.js';
import type { NodeStore } from './store/node-store.js';

export interface LivenessEvaluatorOptions {
  /** This headnode's id (lease holder, ping client id). */
  holder: string;
  /** When this headnode started consuming. */
  startedAt: number;
  intervalMs: number;
  leaseTtlMs: number;
  /** How often Triton agents are pinged. */
  pingIntervalMs: number;
  /** A command still unanswered this long after its deadline is recorded as timed out by the evaluator. */
  commandGraceMs: number;
  /** Events, finished commands outside jobs and finished webhook deliveries older than this are deleted. */
  retentionMs: number;
  /** Finished jobs beyond the newest this many... */
  jobRetentionCount: number;
  /** ...or finished longer ago than this are deleted. */
  jobRetentionMs: number;
}

export interface LivenessStores {
  liveness: LivenessStore;
  nodes: NodeStore;
  commands: CommandStore;
  events: EventStore;
  jobs: JobStore;
  hooks: HookStore;
}

const PRUNE_INTERVAL_MS = 3_600_000;

/**
 * Runs the liveness evaluation periodically on whichever headnode holds the
 * lease (one at a time across headnodes), and with it the work only one
 * should do: pinging Triton agents, timing out commands whose headnode died,
 * pruning old events, jobs and webhook deliveries. Transitions driven by messages happen in the inbound
 * writer; this handles what silence does.
 */
export class LivenessEvaluator {
  readonly #s: LivenessStores;
  readonly #pinger: LegacyPinger;
  readonly #bus: EventBus;
  readonly #log: Logger;
  readonly #o: LivenessEvaluatorOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<TickResult | undefined> | undefined;
  #leader = false;
  #lastPing = 0;
  #lastPrune = 0;

  constructor(
    stores: LivenessStores,
    pinger: LegacyPinger,
    bus: EventBus,
    logger: Logger,
    options: LivenessEvaluatorOptions,
  ) {
    this.#s = stores;
    this.#pinger = pinger;
    this.#bus = bus;
    this.#log = logger;
    this.#o = options;
  }

  get leader(): boolean {
    return this.#leader;
  }

  start(): void {
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
  }

  /** One evaluation (skipped if one is still running); never throws. */
  tick(): Promise<TickResult | undefined> {
    this.#running ??= this.#tick().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
    if (this.#leader) await this.#s.liveness.release(this.#o.holder).catch(() => undefined);
    this.#leader = false;
  }

  async #tick(): Promise<TickResult | undefined> {
    const o = this.#o;
    let result: TickResult;
    try {
      result = await this.#s.liveness.tick({
        holder: o.holder,
        startedAt: o.startedAt,
        leaseTtlMs: o.leaseTtlMs,
      });
    } catch (err) {
      this.#log.warn('liveness evaluation failed', { error: String(err) });
      return undefined;
    }
    if (result.leader !== this.#leader) {
      this.#log.info(result.leader ? 'evaluating liveness' : 'another headnode evaluates liveness', {
        holder: o.holder,
      });
      this.#leader = result.leader;
    }
    if (result.reset > 0) this.#log.info('nodes unknown until heard from', { nodes: result.reset });
    if (result.reset > 0 || result.transitions > 0) this.#bus.poke();
    if (!result.leader) return result;
    const now = Date.now();
    if (now - this.#lastPing >= o.pingIntervalMs) {
      this.#lastPing = now;
      this.#s.nodes
        .legacyNodeIds()
        .then((ids) => this.#pinger.ping(ids))
        .catch((err: unknown) => this.#log.warn('pinging Triton agents failed', { error: String(err) }));
    }
    try {
      const timedOut = await this.#s.commands.sweep(o.holder, o.commandGraceMs, now);
      if (timedOut > 0)
        this.#log.info('commands without a reply recorded as timed out', { commands: timedOut });
      if (now - this.#lastPrune >= PRUNE_INTERVAL_MS) {
        this.#lastPrune = now;
        const events = await this.#s.events.prune(now - o.retentionMs);
        const commands = await this.#s.commands.prune(now - o.retentionMs);
        const jobs = await this.#s.jobs.prune(o.jobRetentionCount, now - o.jobRetentionMs);
        const deliveries = await this.#s.hooks.prune(now - o.retentionMs);
        if (events + commands + jobs + deliveries > 0)
          this.#log.info('pruned history', { events, commands, jobs, deliveries });
      }
    } catch (err) {
      this.#log.warn('command sweep failed', { error: String(err) });
    }
    return result;
  }
}
