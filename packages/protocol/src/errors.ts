/**
 * Every error that crosses a process boundary (an agent reply, an API response)
 * is `{code, message}` with a code from this table. The table also gives the
 * HTTP status the headnode answers with, so the API docs and the server agree.
 */
export const ErrorCodes = {
  // Request problems the agent reports in an execute reply.
  INVALID_JSON: { status: 400, description: 'The request body is not valid UTF-8 JSON.' },
  INVALID_REQUEST: { status: 400, description: 'The request does not match the schema of its type.' },
  UNKNOWN_TYPE: { status: 400, description: 'The request type is not one this agent understands.' },
  BODY_TOO_LARGE: { status: 413, description: 'The request body exceeds the size limit.' },
  INVALID_ID: { status: 400, description: 'A node, request or client id is not a single routing-key word.' },
  // Execution problems the agent reports in an execute reply.
  FILE_NOT_FOUND: { status: 200, description: 'The file to run (or the script interpreter) does not exist.' },
  NOT_EXECUTABLE: { status: 200, description: 'The file to run is not executable.' },
  CWD_NOT_FOUND: { status: 200, description: 'The working directory does not exist.' },
  SPAWN_FAILED: { status: 200, description: 'The process could not be started.' },
  TIMED_OUT: { status: 200, description: 'The command ran past its timeout and was killed.' },
  CANCELLED: { status: 200, description: 'A cancel request stopped the command.' },
  INTERRUPTED: {
    status: 200,
    description: 'The agent died (crash, SIGKILL, power loss) while the command ran; it may have partly run.',
  },
  // Refusals of an agent that runs only signed requests: nothing was run.
  UNSIGNED: { status: 403, description: 'The request is not signed; the agent runs only signed requests.' },
  UNKNOWN_KEY: { status: 403, description: 'The request is signed by a key the agent does not trust.' },
  BAD_SIGNATURE: {
    status: 403,
    description: 'The signature does not match the request (altered or forged), or is malformed.',
  },
  WRONG_NODE: {
    status: 403,
    description: 'The request was signed for another node (or request id) than the one it was sent to.',
  },
  SIGNATURE_EXPIRED: {
    status: 403,
    description: 'The signature is past its expiry, or dated in the future, beyond the clock skew tolerance.',
  },
  REPLAYED: {
    status: 403,
    description: 'A request id the agent has seen before was sent again (not a broker redelivery).',
  },
  AGENT_STOPPING: { status: 503, description: 'The agent is shutting down and did not run the request.' },
  INTERNAL_ERROR: { status: 500, description: 'An unexpected failure; the message and the logs say more.' },
  // Software artifacts (artifact.* requests); the artifact routes answer with these statuses.
  INVALID_COORDINATE: {
    status: 400,
    description:
      "The artifact coordinate is not groupId:artifactId:version of letters, digits, '.', '_', '-'.",
  },
  NO_ARTIFACT_REPO: {
    status: 400,
    description: 'The request gives no url and the agent has no artifact repository configured.',
  },
  CHECKSUM_REQUIRED: {
    status: 400,
    description:
      'The agent requires a SHA-256 and neither the request nor the repository (.sha256) gave one.',
  },
  ARTIFACT_NOT_FOUND: { status: 404, description: 'The artifact repository answered 404 for the archive.' },
  DOWNLOAD_FAILED: {
    status: 502,
    description: 'The archive could not be downloaded (HTTP error, connection reset, stalled) after retries.',
  },
  CHECKSUM_MISMATCH: {
    status: 502,
    description: 'The SHA-256 of the archive differs from the expected one; the download was discarded.',
  },
  ARTIFACT_TOO_LARGE: {
    status: 413,
    description: "The download, the unpacked size or the entry count exceeds the agent's limits.",
  },
  INVALID_ARCHIVE: { status: 422, description: 'The archive is not a readable zip file (or is corrupt).' },
  UNSAFE_ARCHIVE: {
    status: 422,
    description:
      'An entry has an absolute path, a .. component, a symlink leading outside, or lies about its size.',
  },
  ARTIFACT_NOT_INSTALLED: { status: 404, description: 'That version is not installed on the node.' },
  ARTIFACT_IN_USE: {
    status: 409,
    description: 'A running service uses the artifact; remove it with force to do it anyway.',
  },
  // Supervised services (service.* requests); the service routes answer with these statuses.
  INVALID_SERVICE_COORDINATE: {
    status: 400,
    description: "The service coordinate is not instance.service.user.cell of letters, digits, '_', '-'.",
  },
  SERVICE_NOT_FOUND: { status: 404, description: 'The node has no service with that coordinate.' },
  SERVICE_CONFLICT: {
    status: 409,
    description:
      'The service runs with another artifact or options, or is stopping or draining; nothing was changed.',
  },
  INVALID_SERVICE_SPEC: {
    status: 422,
    description:
      'The manifest (ur-service.json) with the overrides is invalid: no command, a bad field, or a placeholder naming nothing.',
  },
  PREPARE_FAILED: {
    status: 422,
    description:
      'Pre-populating the runtime directory failed (missing file, download, checksum); the service was not started.',
  },
  SERVICE_START_FAILED: {
    status: 422,
    description:
      'The service did not come up: it could not be spawned, exited, or failed its health check; the message says which.',
  },
  DRAIN_TIMEOUT: {
    status: 504,
    description: 'The service did not exit within the drain timeout; it is still draining (stop ends it).',
  },
  // Headnode API errors.
  VALIDATION_FAILED: { status: 400, description: 'The HTTP request failed validation.' },
  NOT_FOUND: { status: 404, description: 'No such route.' },
  NODE_NOT_FOUND: { status: 404, description: 'The node is not in the inventory.' },
  NODE_OFFLINE: {
    status: 409,
    description: 'No agent is listening for the node (unknown node or stopped agent); nothing was run.',
  },
  REPLY_TIMEOUT: { status: 504, description: 'The node did not reply within the timeout plus a margin.' },
  EXPIRED: {
    status: 504,
    description: "The request waited in the node's queue past its deadline (agent away); nothing was run.",
  },
  BROKER_UNAVAILABLE: { status: 503, description: 'The headnode has no broker connection at the moment.' },
  INVALID_SELECTOR: { status: 400, description: 'The node selector does not parse; the message says where.' },
  INSUFFICIENT_CAPACITY: {
    status: 409,
    description: "The reservation exceeds the node's unreserved (or unknown) capacity; nothing was reserved.",
  },
  NO_CAPACITY: {
    status: 409,
    description: 'No ready node matching the constraints has room for the reservation; nothing was reserved.',
  },
  RESERVATION_EXISTS: {
    status: 409,
    description: 'The node already has a reservation of that kind and name.',
  },
  RESERVATION_NOT_FOUND: { status: 404, description: 'The node has no reservation of that kind and name.' },
  COMMAND_NOT_FOUND: { status: 404, description: 'No command with that request id is recorded.' },
  UNAUTHENTICATED: {
    status: 401,
    description:
      'The API needs a bearer token (Authorization: Bearer ...); it is missing, unknown or revoked.',
  },
  FORBIDDEN: { status: 403, description: "The API token's role does not allow this request." },
  NODE_KEY_MISMATCH: {
    status: 502,
    description:
      "The node's reply is not signed by the key pinned for it; it was not recorded (see urctl nodes trust).",
  },
  NO_OFFERED_KEY: { status: 409, description: 'The node has offered no new key to trust.' },
  NO_TARGET_NODES: {
    status: 400,
    description: 'The target selects no node (and names none); no job was created.',
  },
  JOB_NOT_FOUND: { status: 404, description: 'No job with that id is recorded (or it was pruned).' },
  JOB_FINISHED: { status: 409, description: 'The job has already finished; there is nothing to cancel.' },
  HOOK_NOT_FOUND: { status: 404, description: 'No webhook with that id.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ErrorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ErrorCodes, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ErrorCodes[code].status;
}

/** The wire and API shape of an error. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** Base class for errors that carry a protocol error code. */
export class UrError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

/** Thrown when an id would not be a single routing-key word. */
export class InvalidIdError extends UrError {
  readonly kind: string;
  readonly value: string;

  constructor(kind: string, value: string) {
    super(
      'INVALID_ID',
      `invalid ${kind} ${JSON.stringify(value)}: use 1-128 letters, digits, '_', '-' or ':' (no dots or wildcards)`,
    );
    this.kind = kind;
    this.value = value;
  }
}

/** Thrown when a routing key does not have the shape of any Ur key. */
export class InvalidRoutingKeyError extends UrError {
  readonly routingKey: string;

  constructor(routingKey: string, reason: string) {
    super('INVALID_REQUEST', `invalid routing key ${JSON.stringify(routingKey)}: ${reason}`);
    this.routingKey = routingKey;
  }
}
