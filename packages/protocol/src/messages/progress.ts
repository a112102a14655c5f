import { Type, type Static } from '@sinclair/typebox';

/**
 * `ur.execute-progress.<node-id>.<request-id>`, sent while a request with
 * `stream: true` runs. The final reply is still the complete answer; these
 * only let a caller show what is happening. `seq` counts from 0 per request
 * so gaps and reordering are visible.
 */
export const ProgressEventSchema = Type.Object(
  {
    type: Type.Literal('progress'),
    node_id: Type.String(),
    request_id: Type.String(),
    seq: Type.Integer({ minimum: 0 }),
    at: Type.String(),
    stage: Type.Union([
      Type.Literal('accepted'),
      Type.Literal('started'),
      Type.Literal('output'),
      Type.Literal('progress'),
    ]),
    stream: Type.Optional(Type.Union([Type.Literal('stdout'), Type.Literal('stderr')])),
    data: Type.Optional(Type.String({ description: 'Output text (stage output).' })),
    progress: Type.Optional(
      Type.Object({
        done: Type.Number(),
        total: Type.Union([Type.Number(), Type.Null()]),
        unit: Type.String({ description: 'What is counted, e.g. bytes or entries.' }),
        message: Type.Optional(Type.String()),
      }),
    ),
  },
  { title: 'ProgressEvent' },
);
export type ProgressEvent = Static<typeof ProgressEventSchema>;
