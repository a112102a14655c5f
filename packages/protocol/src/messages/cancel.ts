import { Type, type Static } from '@sinclair/typebox';
import { WORD_PATTERN } from '../ids.js';
import { MAX_TIMEOUT_SECONDS } from './common.js';

/**
 * `{type: "cancel", request_id}` on `ur.execute.<node-id>.<cancel-id>` stops
 * a running request as a timeout would (SIGTERM to its process group, SIGKILL
 * after the grace). The cancelled request still gets its one reply, with
 * `error.code` CANCELLED; the cancel request gets its own reply, whose
 * `result` is a {@link CancelResult}, once the cancelled request has ended.
 */
export const CancelRequestSchema = Type.Object(
  {
    type: Type.Literal('cancel'),
    request_id: Type.String({ pattern: WORD_PATTERN, description: 'The request to stop.' }),
    timeout: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMEOUT_SECONDS, description: 'Ignored.' }),
    ),
  },
  { title: 'CancelRequest' },
);
export type CancelRequest = Static<typeof CancelRequestSchema>;

export const CANCEL_STATES = ['cancelled', 'finished', 'unknown'] as const;

/** The `result` of a cancel request's reply (exit_status 0 only for `cancelled`). */
export const CancelResultSchema = Type.Object(
  {
    request_id: Type.String(),
    state: Type.Union(
      CANCEL_STATES.map((s) => Type.Literal(s)),
      {
        description:
          'cancelled: it was running and has now ended; finished: it had already ended; ' +
          'unknown: this agent has no record of it.',
      },
    ),
  },
  { title: 'CancelResult' },
);
export type CancelResult = Static<typeof CancelResultSchema>;
