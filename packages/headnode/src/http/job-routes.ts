import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  JobCreateBodySchema,
  JobDetailSchema,
  JobGetQuerySchema,
  JobListQuerySchema,
  JobListSchema,
  JobSummarySchema,
  type JobCounts,
  type JobCreateBody,
  type JobDetail,
  type JobGetQuery,
  type JobList,
  type JobListQuery,
  type JobSummary,
  type Logger,
  type ProgressEvent,
} from '@ur/protocol';
import { JobNotFoundError } from '../errors.js';
import type { EventBus } from '../event-bus.js';
import type { JobManager } from '../jobs/job-manager.js';
import { emptyCounts, eventSummary } from '../jobs/job-summary.js';
import { toJobDetail, toJobSummary } from '../jobs/job-view.js';
import type { OutputHub } from '../jobs/output-hub.js';
import type { EventStore } from '../store/event-store.js';
import type { JobRow, JobStore } from '../store/job-store.js';
import { followEvents } from './follow-events.js';
import { errors } from './node-routes.js';
import { requester } from './requester.js';
import { resumeAfter, type SseStreams } from './sse.js';

export interface JobRoutesDeps {
  manager: JobManager;
  jobs: JobStore;
  events: EventStore;
  bus: EventBus;
  outputs: OutputHub;
  sse: SseStreams;
  headnodeId: string;
  log: Logger;
}

const JobParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const AfterQuery = Type.Object({
  after: Type.Optional(Type.String({ description: 'Resume after this event id (as Last-Event-ID).' })),
});

export function registerJobRoutes(app: FastifyInstance, deps: JobRoutesDeps): void {
  const countsOf = async (row: JobRow): Promise<JobCounts> =>
    (await deps.jobs.counts([row.id])).get(row.id) ?? emptyCounts();
  const summary = async (row: JobRow): Promise<JobSummary> => toJobSummary(row, await countsOf(row));

  app.post<{ Body: JobCreateBody }>(
    '/v1/jobs',
    {
      schema: {
        summary: 'Run a command on the nodes a target selects; answers the job at once (202)',
        description:
          'Nodes that are down or left end `offline` at once; the rest are sent through a sliding window of ' +
          '`concurrency` nodes in flight. Follow it with GET /v1/jobs/:id/events.',
        body: JobCreateBodySchema,
        response: { 202: JobSummarySchema, ...errors(400, 503) },
      },
    },
    async (request, reply): Promise<JobSummary> => {
      const row = await deps.manager.create({
        ...request.body,
        createdBy: requester(request, deps.headnodeId, request.body.requested_by),
      });
      reply.status(202);
      return summary(row);
    },
  );

  app.get<{ Querystring: JobListQuery }>(
    '/v1/jobs',
    {
      schema: {
        summary: 'Jobs, newest first, a page at a time',
        querystring: JobListQuerySchema,
        response: { 200: JobListSchema, ...errors(400) },
      },
    },
    async (request): Promise<JobList> => {
      const q = request.query;
      const page = await deps.jobs.list({
        state: q.state,
        kind: q.kind,
        nodeId: q.node_id,
        before: q.before,
        limit: q.limit ?? 50,
      });
      const counts = await deps.jobs.counts(page.jobs.map((j) => j.id));
      return {
        jobs: page.jobs.map((j) => toJobSummary(j, counts.get(j.id) ?? emptyCounts())),
        next: page.next,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: JobGetQuery }>(
    '/v1/jobs/:id',
    {
      schema: {
        summary: 'One job: its summary and every node result',
        params: JobParams,
        querystring: JobGetQuerySchema,
        response: { 200: JobDetailSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<JobDetail> => {
      const row = await deps.jobs.get(request.params.id);
      if (!row) throw new JobNotFoundError(request.params.id);
      const nodes = await deps.jobs.nodes(row.id);
      return toJobDetail(row, await countsOf(row), nodes, request.query.output !== false);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/jobs/:id/cancel',
    {
      schema: {
        summary: 'Cancel a job: nodes not sent yet end cancelled, running ones get a cancel command',
        params: JobParams,
        response: { 202: JobSummarySchema, ...errors(400, 404, 409) },
      },
    },
    async (request, reply): Promise<JobSummary> => {
      const row = await deps.manager.cancel(request.params.id, requester(request, deps.headnodeId));
      reply.status(202);
      return summary(row);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { after?: string } }>(
    '/v1/jobs/:id/events',
    {
      schema: {
        summary:
          "A job's events as Server-Sent Events: node state changes and live output, then job.completed",
        description:
          'Replays the stored events of the job (after Last-Event-ID, if given), then follows it live: ' +
          '`job.node.<state>` for each state change, `output` messages (no id; live only) with output chunks ' +
          'of stream jobs, and `job.completed` with the counts, after which the stream ends.',
        params: JobParams,
        querystring: AfterQuery,
        response: { ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const resume = resumeAfter(request);
      const row = await deps.jobs.get(request.params.id);
      if (!row) throw new JobNotFoundError(request.params.id);
      const nodes = await deps.jobs.nodes(row.id);
      const nodeOf = new Map(nodes.map((n) => [n.request_id, n.node_id]));
      const stream = deps.sse.open(reply);
      let completed = false;
      const sendOutput = (event: ProgressEvent): void =>
        stream.send({
          event: 'output',
          data: {
            job_id: row.id,
            node_id: nodeOf.get(event.request_id) ?? event.node_id,
            request_id: event.request_id,
            stream: event.stream ?? 'stdout',
            data: event.data ?? '',
            at: event.at,
          },
        });
      // Output waits until the stored events are replayed, and always goes out before job.completed.
      let held: ProgressEvent[] | undefined = [];
      const release = (): void => {
        for (const event of held ?? []) sendOutput(event);
        held = undefined;
      };
      // A new stream gets the output kept so far; a resumed one only what is new (no repeats).
      const unwatch = deps.outputs.watch(
        nodeOf.keys(),
        (event) => (held ? held.push(event) : sendOutput(event)),
        resume === undefined,
      );
      stream.onClose(unwatch);
      try {
        await followEvents(stream, deps.bus, {
          after: resume ?? 0,
          history: (id, limit) => deps.events.forJob(row.id, id, limit),
          accept: (event) => 'job_id' in event && event.job_id === row.id,
          onEvent: (event) => {
            if (event.type === 'job.completed') {
              release();
              completed = true;
            }
            stream.send({ id: event.id, event: event.type, data: event });
            if (completed) stream.close();
          },
        });
        release();
        if (!completed && !stream.closed) {
          // Finished, but its job.completed event is no longer stored (events are pruned before jobs).
          const now = await deps.jobs.get(row.id);
          if (now && now.state !== 'running') {
            const counts = await countsOf(now);
            stream.send({
              event: 'job.completed',
              data: {
                type: 'job.completed',
                job_id: now.id,
                at: new Date(now.finished_at ?? Date.now()).toISOString(),
                data: eventSummary(now, now.state, counts),
              },
            });
            stream.close();
          }
        }
      } catch (err) {
        deps.log.warn('job event stream failed', { job: row.id, error: String(err) });
        stream.close();
      }
    },
  );
}
