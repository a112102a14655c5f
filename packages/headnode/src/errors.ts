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

/** The store could not be opened or migrated. */
export class StoreError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StoreError';
  }
}
