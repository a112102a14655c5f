import { UrError, type ErrorCode } from '@ur/protocol';

/** An API failure with a code from the protocol's error table. */
export class ApiError extends UrError {
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** The node has no agent listening: nothing was run. */
export class NodeOfflineError extends ApiError {
  readonly nodeId: string;

  constructor(nodeId: string, message: string) {
    super('NODE_OFFLINE', message);
    this.nodeId = nodeId;
  }
}

/** No reply arrived within the command's timeout plus the margin. */
export class ReplyTimeoutError extends ApiError {
  readonly nodeId: string;
  readonly requestId: string;
  readonly waitedMs: number;

  constructor(nodeId: string, requestId: string, waitedMs: number) {
    super(
      'REPLY_TIMEOUT',
      `node ${nodeId} did not reply to request ${requestId} within ${waitedMs / 1000} s`,
    );
    this.nodeId = nodeId;
    this.requestId = requestId;
    this.waitedMs = waitedMs;
  }
}

/** The request waited in the node's queue past its deadline and was dead-lettered: nothing ran. */
export class RequestExpiredError extends ApiError {
  readonly nodeId: string;
  readonly requestId: string;

  constructor(nodeId: string, requestId: string) {
    super(
      'EXPIRED',
      `request ${requestId} expired in the queue of node ${nodeId} before its agent took it (agent away); nothing was run`,
    );
    this.nodeId = nodeId;
    this.requestId = requestId;
  }
}

/** A reply came that the node's pinned key did not sign: not the node's answer. */
export class NodeKeyMismatchError extends ApiError {
  readonly nodeId: string;
  readonly requestId: string;

  constructor(nodeId: string, requestId: string, reason: string) {
    super(
      'NODE_KEY_MISMATCH',
      `the reply to request ${requestId} from node ${nodeId} was not recorded: ${reason}; ` +
        `if the node was reinstalled, check and run urctl nodes trust ${nodeId}`,
    );
    this.nodeId = nodeId;
    this.requestId = requestId;
  }
}

/**
 * A job's command is no longer pending when its turn to be sent comes (the
 * job was cancelled or stopped meanwhile): it is not published.
 */
export class CommandNotPendingError extends Error {
  readonly requestId: string;
  readonly status: string;

  constructor(requestId: string, status: string) {
    super(`command ${requestId} is ${status}, not pending: not sent`);
    this.name = 'CommandNotPendingError';
    this.requestId = requestId;
    this.status = status;
  }
}

export class JobNotFoundError extends ApiError {
  readonly jobId: string;

  constructor(jobId: string) {
    super('JOB_NOT_FOUND', `no job ${jobId} is recorded (jobs are kept for a while, then pruned)`);
    this.jobId = jobId;
  }
}

/** Cancelling a job that has already ended. */
export class JobFinishedError extends ApiError {
  readonly jobId: string;
  readonly state: string;

  constructor(jobId: string, state: string) {
    super('JOB_FINISHED', `job ${jobId} has already finished (${state}); nothing to cancel`);
    this.jobId = jobId;
    this.state = state;
  }
}

/** A job's target selects no node and names none. */
export class NoTargetNodesError extends ApiError {
  readonly target: string;

  constructor(target: string) {
    super('NO_TARGET_NODES', `the target ${JSON.stringify(target)} selects no node; no job was created`);
    this.target = target;
  }
}

export class HookNotFoundError extends ApiError {
  readonly hookId: string;

  constructor(hookId: string) {
    super('HOOK_NOT_FOUND', `no webhook ${hookId}`);
    this.hookId = hookId;
  }
}

/** The store could not be opened or migrated. */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}

/** Requested amounts of a reservation; absent for the other kind. */
export interface Amounts {
  cpu_milli?: number;
  memory_bytes?: number;
  bytes?: number;
}

const describeAmounts = (a: Amounts): string =>
  [
    a.cpu_milli !== undefined ? `${a.cpu_milli} milli-cores` : undefined,
    a.memory_bytes !== undefined ? `${a.memory_bytes} bytes of memory` : undefined,
    a.bytes !== undefined ? `${a.bytes} bytes of storage` : undefined,
  ]
    .filter((s) => s !== undefined)
    .join(' and ');

/** The node's unreserved capacity is smaller than the reservation (or unknown). */
export class InsufficientCapacityError extends ApiError {
  readonly nodeId: string;
  readonly requested: Amounts;
  /** Unreserved amounts; null where the node never reported its capacity. */
  readonly free: { [K in keyof Amounts]?: number | null };

  constructor(nodeId: string, requested: Amounts, free: InsufficientCapacityError['free']) {
    const unknown = Object.entries(free)
      .filter(([, v]) => v === null)
      .map(([k]) => k);
    super(
      'INSUFFICIENT_CAPACITY',
      unknown.length > 0
        ? `node ${nodeId} has not reported its ${unknown.join(' and ')} capacity; nothing was reserved`
        : `node ${nodeId} has ${describeAmounts(free as Amounts)} unreserved; asked for ${describeAmounts(requested)}; nothing was reserved`,
    );
    this.nodeId = nodeId;
    this.requested = requested;
    this.free = free;
  }
}

/** No ready node matching the constraints has room. */
export class NoCapacityError extends ApiError {
  readonly requested: Amounts;
  readonly candidates: number;

  constructor(requested: Amounts, candidates: number, where: string | undefined) {
    super(
      'NO_CAPACITY',
      `no ready node${where ? ` matching ${JSON.stringify(where)}` : ''} has ${describeAmounts(requested)} unreserved ` +
        `(${candidates} ready candidate${candidates === 1 ? '' : 's'} with known capacity); nothing was reserved`,
    );
    this.requested = requested;
    this.candidates = candidates;
  }
}

export type ReservationKind = 'compute' | 'storage';

export class ReservationExistsError extends ApiError {
  readonly nodeId: string;
  readonly kind: ReservationKind;
  readonly reservation: string;

  constructor(nodeId: string, kind: ReservationKind, name: string) {
    super(
      'RESERVATION_EXISTS',
      `node ${nodeId} already has a ${kind} reservation named ${JSON.stringify(name)}`,
    );
    this.nodeId = nodeId;
    this.kind = kind;
    this.reservation = name;
  }
}

export class ReservationNotFoundError extends ApiError {
  readonly nodeId: string;
  readonly kind: ReservationKind;
  readonly reservation: string;

  constructor(nodeId: string, kind: ReservationKind, name: string) {
    super('RESERVATION_NOT_FOUND', `node ${nodeId} has no ${kind} reservation named ${JSON.stringify(name)}`);
    this.nodeId = nodeId;
    this.kind = kind;
    this.reservation = name;
  }
}

/** The node is not in the inventory. */
export class NodeNotFoundError extends ApiError {
  readonly nodeId: string;

  constructor(nodeId: string) {
    super('NODE_NOT_FOUND', `node ${nodeId} is not in the inventory`);
    this.nodeId = nodeId;
  }
}
