import type { ErrorBody } from './errors.js';
import type { ProgressEvent } from './messages/progress.js';

/**
 * A streamed API answer (`?stream=1`, `application/x-ndjson`): one JSON
 * object per line, the node's progress events as they come, then exactly one
 * final line: the result with the HTTP status the plain call would have
 * answered, or the error. The HTTP status of a stream is 200 once the first
 * line is out; failures before that are ordinary error responses.
 */
export type StreamLine<T> =
  | ProgressEvent
  | { type: 'result'; status: number; result: T }
  | { type: 'error'; status: number; error: ErrorBody };

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';
