import type { FastifyInstance } from 'fastify';
import { Type, type TSchema } from '@sinclair/typebox';
import {
  check,
  checkExecuteRequest,
  DEFAULT_PAGE_SIZE,
  ErrorBodySchema,
  ExecuteBodySchema,
  ExecuteResponseSchema,
  NodeDetailSchema,
  NodeListQuerySchema,
  NodeListSchema,
  NodePatchBodySchema,
  NodeTransitionListSchema,
  WORD_PATTERN,
  type ExecuteBody,
  type ExecuteResponse,
  type NodeDetail,
  type NodeList,
  type NodeListQuery,
  type NodePatchBody,
  type NodeTransitionList,
} from '@ur/protocol';
import type { CommandDispatcher } from '../command-dispatcher.js';
import { ApiError, NodeNotFoundError, NodeOfflineError } from '../errors.js';
import type { JobManager } from '../jobs/job-manager.js';
import { toDetail, toSummary } from '../node-view.js';
import type { HeadnodeStores } from '../store/stores.js';
import { selectNodes, selectorFrom } from './node-selection.js';
import { requester } from './requester.js';

export interface NodeRoutesDeps {
  stores: HeadnodeStores;
  dispatcher: CommandDispatcher;
  /** Every execute is a job of one node. */
  jobs: JobManager;
  headnodeId: string;
  defaultTimeoutSeconds: number;
}

export const NodeParams = Type.Object({ id: Type.String({ pattern: WORD_PATTERN }) });
export const errors = (...statuses: number[]): Record<number, typeof ErrorBodySchema> =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBodySchema]));

const TransitionsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100 })),
});

export function registerNodeRoutes(app: FastifyInstance, deps: NodeRoutesDeps): void {
  const { nodes, events, services } = deps.stores;

  app.get<{ Querystring: NodeListQuery }>(
    '/v1/nodes',
    {
      schema: {
        summary: 'List the nodes a selector picks (default all), by id, a page at a time',
        querystring: NodeListQuerySchema,
        response: { 200: NodeListSchema, ...errors(400) },
      },
    },
    async (request): Promise<NodeList> => {
      const { where, after } = request.query;
      const limit = request.query.limit ?? DEFAULT_PAGE_SIZE;
      const picked = await selectNodes(nodes, where === undefined ? undefined : selectorFrom(where));
      const rest = after === undefined ? picked : picked.filter((row) => row.id > after);
      const page = rest.slice(0, limit);
      const last = page.at(-1);
      return {
        nodes: page.map(toSummary),
        total: picked.length,
        next: rest.length > page.length && last ? last.id : null,
      };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'One node with its facts, labels, sysinfo, last heartbeat, artifacts and services',
        params: NodeParams,
        response: { 200: NodeDetailSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<NodeDetail> => {
      const row = await nodes.get(request.params.id);
      if (!row) throw new NodeNotFoundError(request.params.id);
      return toDetail(row, await services.forNode(row.id));
    },
  );

  app.patch<{ Params: { id: string }; Body: NodePatchBody }>(
    '/v1/nodes/:id',
    {
      schema: {
        summary: "Set or remove a node's labels (null removes one)",
        params: NodeParams,
        body: NodePatchBodySchema,
        response: { 200: NodeDetailSchema, ...errors(400, 404) },
      },
      // Fastify's ajv coerces null to "" in a string-or-null union, which
      // would set a label to "" instead of removing it: check as the protocol does.
      validatorCompiler:
        ({ schema }) =>
        (data: unknown) => {
          const checked = check(schema as TSchema, data);
          return checked.ok ? { value: checked.value } : { error: new Error(checked.error.message) };
        },
    },
    async (request): Promise<NodeDetail> => {
      const { id } = request.params;
      const labels = await nodes.setLabels(id, request.body.labels);
      const row = labels && (await nodes.get(id));
      if (!row) throw new NodeNotFoundError(id);
      return toDetail(row, await services.forNode(id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'Forget a node: out of the inventory (and `all`), with its reservations; its history stays',
        description:
          'Records node.forgotten. A node whose agent still runs comes back as a new node the next time it speaks.',
        params: NodeParams,
        response: { 204: Type.Null(), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      if (!(await nodes.forget(id, `forgotten by ${requester(request, deps.headnodeId)}`)))
        throw new NodeNotFoundError(id);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: { limit?: number } }>(
    '/v1/nodes/:id/transitions',
    {
      schema: {
        summary: "A node's status transitions, newest first, with time and reason",
        params: NodeParams,
        querystring: TransitionsQuery,
        response: { 200: NodeTransitionListSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<NodeTransitionList> => {
      const { id } = request.params;
      if (!(await nodes.get(id))) throw new NodeNotFoundError(id);
      return { node_id: id, transitions: await events.transitions(id, request.query.limit ?? 100) };
    },
  );

  app.post<{ Params: { id: string }; Body: ExecuteBody }>(
    '/v1/nodes/:id/execute',
    {
      schema: {
        summary: 'Run a script or file on one node and return its reply',
        description:
          'Fails at once with 409 NODE_OFFLINE when no agent listens for the node (and marks it down); with 504 ' +
          "EXPIRED when the request's deadline passed while it waited in the node's queue; with 504 REPLY_TIMEOUT " +
          'when no reply comes within the timeout plus a margin. Never refused for missing heartbeats. ' +
          'Recorded as a job of one node (kind execute); its id is in the X-Ur-Job-Id header.',
        params: NodeParams,
        body: ExecuteBodySchema,
        response: { 200: ExecuteResponseSchema, ...errors(400, 409, 503, 504) },
      },
      attachValidation: true,
    },
    async (request, reply): Promise<ExecuteResponse> => {
      if (request.validationError) {
        // ajv's messages for a union are unreadable; the protocol's own check
        // names the missing field or the unknown type.
        const checked =
          request.validationError.validationContext === 'body'
            ? checkExecuteRequest(request.body)
            : undefined;
        const message = checked && !checked.ok ? checked.error.message : request.validationError.message;
        throw new ApiError('VALIDATION_FAILED', message);
      }
      const nodeId = request.params.id;
      const timeout = request.body.timeout ?? deps.defaultTimeoutSeconds;
      const { job, outcome } = await deps.jobs.executeOne(
        nodeId,
        request.body,
        timeout,
        requester(request, deps.headnodeId),
      );
      void reply.header('x-ur-job-id', job.id);
      try {
        const result = await outcome;
        return { node_id: nodeId, request_id: result.requestId, ...result.reply };
      } catch (err) {
        if (err instanceof NodeOfflineError) throw await explainOffline(deps, err);
        throw err;
      }
    },
  );
}

/** Says what the inventory knows about a node nobody is listening for. */
async function explainOffline(deps: NodeRoutesDeps, err: NodeOfflineError): Promise<NodeOfflineError> {
  const row = await deps.stores.nodes.get(err.nodeId);
  if (!row) {
    return new NodeOfflineError(
      err.nodeId,
      `node ${err.nodeId} is unknown and no agent is listening for it; nothing was run`,
    );
  }
  return new NodeOfflineError(
    err.nodeId,
    `node ${err.nodeId} is offline (status ${row.status}: ${row.status_reason}; last seen ${new Date(row.last_seen).toISOString()}); nothing was run`,
  );
}
