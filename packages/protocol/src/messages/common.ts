import { Type, type Static } from '@sinclair/typebox';
import { ErrorCodes, type ErrorCode } from '../errors.js';

const codes = Object.keys(ErrorCodes) as ErrorCode[];

export const ErrorBodySchema = Type.Object(
  {
    code: Type.Union(codes.map((c) => Type.Literal(c))),
    message: Type.String(),
  },
  { title: 'ErrorBody', description: 'An error: a code from the error table and a human-readable message.' },
);
export type ErrorBodyMessage = Static<typeof ErrorBodySchema>;

/** Seconds; the upper bound keeps absurd values from overflowing timers. */
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
