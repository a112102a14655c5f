import { UrError, type ErrorCode } from '@ur/protocol/wire';

/**
 * Failures of the service supervisor. Each becomes the `error` of the
 * command's reply; the typed fields are for callers and logs.
 */
export class ServiceError extends UrError {
  readonly coordinate: string;

  constructor(code: ErrorCode, coordinate: string, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.coordinate = coordinate;
  }
}

export class ServiceNotFoundError extends ServiceError {
  constructor(coordinate: string) {
    super('SERVICE_NOT_FOUND', coordinate, `no service ${coordinate} on this node`);
  }
}

/** The service runs with other parameters, or is on its way down. */
export class ServiceConflictError extends ServiceError {
  constructor(coordinate: string, reason: string) {
    super('SERVICE_CONFLICT', coordinate, `${coordinate} ${reason}; nothing was changed`);
  }
}

/** The manifest with the overrides cannot be run (no command, bad placeholder, bad signal). */
export class InvalidServiceSpecError extends ServiceError {
  constructor(coordinate: string, reason: string, options?: ErrorOptions) {
    super('INVALID_SERVICE_SPEC', coordinate, `${coordinate}: ${reason}`, options);
  }
}

/** A pre-population step failed; the service was not started. */
export class PrepareFailedError extends ServiceError {
  /** Index of the step in `prepare`. */
  readonly step: number;

  constructor(coordinate: string, step: number, reason: string, options?: ErrorOptions) {
    super(
      'PREPARE_FAILED',
      coordinate,
      `${coordinate}: pre-population step ${step} failed: ${reason}; the service was not started`,
      options,
    );
    this.step = step;
  }
}

/** The service did not come up (spawn failure, early exit, health check). */
export class ServiceStartFailedError extends ServiceError {
  constructor(coordinate: string, reason: string) {
    super('SERVICE_START_FAILED', coordinate, `${coordinate}: ${reason}`);
  }
}

export class DrainTimeoutError extends ServiceError {
  readonly timeoutMs: number;

  constructor(coordinate: string, timeoutMs: number) {
    super(
      'DRAIN_TIMEOUT',
      coordinate,
      `${coordinate} did not exit within ${timeoutMs / 1000} s of the drain signal; it is still draining (stop ends it)`,
    );
    this.timeoutMs = timeoutMs;
  }
}
