import { Type, type Static } from '@sinclair/typebox';
import { JOB_NODE_STATES, JOB_NODE_STATE_MEANINGS, JOB_STATES } from './job-states.js';
import { ErrorBodySchema, MAX_TIMEOUT_SECONDS } from './messages/common.js';
import { FileRequestSchema, ScriptRequestSchema } from './messages/execute-request.js';

/**
 * Jobs (REST API v1): one command sent to the nodes a target selects, with
 * one result per node. A single-node `POST /v1/nodes/:id/execute` is a job
 * of one node too.
 */
export const JobNodeStateSchema = Type.Union(
  JOB_NODE_STATES.map((s) => Type.Literal(s)),
  {
    description: JOB_NODE_STATES.map((s) => `${s}: ${JOB_NODE_STATE_MEANINGS[s]}`).join('; '),
  },
);

export const JobStateSchema = Type.Union(
  JOB_STATES.map((s) => Type.Literal(s)),
  {
    description:
      'running: nodes are being dispatched or answered; succeeded: every node succeeded; ' +
      'failed: some node did not; cancelled: a cancel was requested.',
  },
);

/** A count, or a percentage of the job's nodes such as "10%". */
const fanOutLimit = (description: string) =>
  Type.Union([Type.Integer({ minimum: 1 }), Type.String({ pattern: '^\\s*(\\d+(\\.\\d+)?%|\\d+)\\s*$' })], {
    description,
  });

export const JobCommandSchema = Type.Union([ScriptRequestSchema, FileRequestSchema], {
  description: 'What each node runs: a script or file request as for POST /v1/nodes/:id/execute.',
});
export type JobCommand = Static<typeof JobCommandSchema>;

export const JobCreateBodySchema = Type.Object(
  {
    target: Type.String({
      minLength: 1,
      description:
        'A node selector; "all" is every node in the inventory. Node ids named in it are part of the job ' +
        'even when the inventory does not know them (they end offline if no agent listens).',
    }),
    command: JobCommandSchema,
    concurrency: Type.Optional(
      fanOutLimit('Most nodes in flight at once: a count or a percentage of the nodes. Default all.'),
    ),
    max_errors: Type.Optional(
      fanOutLimit(
        'Stop dispatching once this many nodes failed, timed out, were interrupted or expired ' +
          '(a count or a percentage); the rest end skipped. Default: never stop.',
      ),
    ),
    batch_wait: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 3600,
        description: "Seconds a node's slot stays empty after it finishes before the next node is sent.",
      }),
    ),
    timeout: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: MAX_TIMEOUT_SECONDS,
        description: "Seconds each node's command may run (overrides the command's timeout).",
      }),
    ),
    stream: Type.Optional(
      Type.Boolean({
        description:
          'Agents report progress: nodes pass through accepted and running, and output is streamed.',
      }),
    ),
    requested_by: Type.Optional(
      Type.String({ maxLength: 256, description: 'Who or what asks (recorded with the job).' }),
    ),
  },
  { title: 'JobCreateBody', additionalProperties: false },
);
export type JobCreateBody = Static<typeof JobCreateBodySchema>;

const Timestamp = Type.String({ description: 'ISO 8601 time.' });
const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);

export const JobCountsSchema = Type.Record(Type.String(), Type.Integer(), {
  description: 'Nodes per state (every state is present).',
});
export type JobCounts = Record<(typeof JOB_NODE_STATES)[number], number>;

/** A job without its per-node results. */
export const JobSummarySchema = Type.Object(
  {
    id: Type.String(),
    state: JobStateSchema,
    kind: Type.Union([Type.Literal('fanout'), Type.Literal('execute')], {
      description: 'execute: a synchronous POST /v1/nodes/:id/execute; fanout: POST /v1/jobs.',
    }),
    target: Type.String(),
    command: Type.Unknown({
      description: 'The command as recorded (values of env variables marked secret are redacted).',
    }),
    concurrency: Type.Union([Type.Integer(), Type.String()]),
    max_errors: Type.Union([Type.Integer(), Type.String(), Type.Null()]),
    batch_wait: Type.Number(),
    timeout: Type.Number(),
    stream: Type.Boolean(),
    created_at: Timestamp,
    created_by: Type.String({ description: 'Who asked, and through which headnode.' }),
    finished_at: NullableTimestamp,
    cancel_requested_at: NullableTimestamp,
    stopped_reason: Type.Union([Type.String(), Type.Null()], {
      description: 'Why dispatching stopped early (max_errors), if it did.',
    }),
    owner: Type.Union([Type.String(), Type.Null()], {
      description: 'The headnode dispatching the job while it runs.',
    }),
    total: Type.Integer(),
    counts: JobCountsSchema,
  },
  { title: 'JobSummary' },
);
export type JobSummary = Omit<Static<typeof JobSummarySchema>, 'counts'> & { counts: JobCounts };

export const JobNodeResultSchema = Type.Object(
  {
    node_id: Type.String(),
    request_id: Type.String(),
    state: JobNodeStateSchema,
    detail: Type.Union([Type.String(), Type.Null()], {
      description: 'Why a node ended without a reply (offline, skipped, cancelled before it was sent).',
    }),
    exit_status: Type.Union([Type.Integer(), Type.Null()]),
    signal: Type.Union([Type.String(), Type.Null()]),
    error: Type.Union([ErrorBodySchema, Type.Null()]),
    stdout: Type.String({ description: 'As the agent captured it (head and tail past its cap).' }),
    stderr: Type.String(),
    stdout_bytes: Type.Integer(),
    stderr_bytes: Type.Integer(),
    stdout_truncated: Type.Boolean(),
    stderr_truncated: Type.Boolean(),
    sent_at: Type.Union([Timestamp, Type.Null()], { description: 'When the headnode published it.' }),
    started_at: Type.Union([Timestamp, Type.Null()], { description: 'On the node (agent clock).' }),
    finished_at: Type.Union([Timestamp, Type.Null()], {
      description: 'On the node (agent clock) when it replied; else when the result was recorded.',
    }),
    recorded_at: Type.Union([Timestamp, Type.Null()], {
      description: 'When the headnode recorded the result.',
    }),
    duration_ms: Type.Union([Type.Number(), Type.Null()], { description: 'As the agent measured it.' }),
  },
  { title: 'JobNodeResult' },
);
export type JobNodeResult = Static<typeof JobNodeResultSchema>;

export const JobDetailSchema = Type.Composite(
  [JobSummarySchema, Type.Object({ nodes: Type.Array(JobNodeResultSchema) })],
  { title: 'Job' },
);
export type JobDetail = JobSummary & { nodes: JobNodeResult[] };

export const JobListSchema = Type.Object(
  {
    jobs: Type.Array(JobSummarySchema),
    next: Type.Union([Type.String(), Type.Null()], {
      description: 'Pass as `before` for the next (older) page; null on the last page.',
    }),
  },
  { title: 'JobList' },
);
export type JobList = { jobs: JobSummary[]; next: string | null };

export const JobListQuerySchema = Type.Object({
  state: Type.Optional(JobStateSchema),
  node_id: Type.Optional(Type.String({ description: 'Only jobs that include this node.' })),
  kind: Type.Optional(Type.Union([Type.Literal('fanout'), Type.Literal('execute')])),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  before: Type.Optional(Type.String({ description: 'The `next` of the previous page.' })),
});
export type JobListQuery = Static<typeof JobListQuerySchema>;

export const JobGetQuerySchema = Type.Object({
  output: Type.Optional(
    Type.Boolean({ default: true, description: 'false leaves stdout and stderr out (empty strings).' }),
  ),
});
export type JobGetQuery = Static<typeof JobGetQuerySchema>;
