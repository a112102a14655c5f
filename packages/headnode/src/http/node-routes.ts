import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  checkExecuteRequest,
  ErrorBodySchema,
  ExecuteBodySchema,
  ExecuteResponseSchema,
  NodeDetailSchema,
  NodeListSchema,
  WORD_PATTERN,
  type ExecuteBody,
  type ExecuteResponse,
  type NodeDetail,
  type NodeList,
} from '@ur/protocol';
import type { CommandDispatcher } from '../command-dispatcher.js';
import { ApiError, NodeOfflineError } from '../errors.js';
import { toDetail, toSummary, type LivenessSettings } from '../node-view.js';
import type { NodeStore } from '../store/node-store.js';

export interface NodeRoutesDeps {
  store: NodeStore;
  dispatcher: CommandDispatcher;
  liveness: LivenessSettings;
  defaultTimeoutSeconds: number;
}

const NodeParams = Type.Object({ id: Type.String({ pattern: WORD_PATTERN }) });
const errors = (...statuses: number[]): Record<number, typeof ErrorBodySchema> =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBodySchema]));

export function registerNodeRoutes(app: FastifyInstance, deps: NodeRoutesDeps): void {
  app.get(
    '/v1/nodes',
    { schema: { summary: 'List every node in the inventory', response: { 200: NodeListSchema } } },
    async (): Promise<NodeList> => {
      const now = Date.now();
      const rows = await deps.store.list();
      return { nodes: rows.map((row) => toSummary(row, now, deps.liveness)) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/nodes/:id',
    {
      schema: {
        summary: 'One node with its sysinfo and last heartbeat',
        params: NodeParams,
        response: { 200: NodeDetailSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<NodeDetail> => {
      const row = await deps.store.get(request.params.id);
      if (!row) throw new ApiError('NODE_NOT_FOUND', `node ${request.params.id} is not in the inventory`);
      return toDetail(row, Date.now(), deps.liveness);
    },
  );

  app.post<{ Params: { id: string }; Body: ExecuteBody }>(
    '/v1/nodes/:id/execute',
    {
      schema: {
        summary: 'Run a script or file on one node and return its reply',
        description:
          'Fails at once with 409 NODE_OFFLINE when no agent listens for the node; with 504 EXPIRED when the ' +
          "request's deadline passed while it waited in the node's queue; with 504 REPLY_TIMEOUT when " +
          'no reply comes within the timeout plus a margin.',
        params: NodeParams,
        body: ExecuteBodySchema,
        response: { 200: ExecuteResponseSchema, ...errors(400, 409, 503, 504) },
      },
      attachValidation: true,
    },
    async (request): Promise<ExecuteResponse> => {
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
      try {
        const { requestId, reply } = await deps.dispatcher.execute(nodeId, request.body, timeout);
        return { node_id: nodeId, request_id: requestId, ...reply };
      } catch (err) {
        if (err instanceof NodeOfflineError) throw await explainOffline(deps, err);
        throw err;
      }
    },
  );
}

/** Says what the inventory knows about a node nobody is listening for. */
async function explainOffline(deps: NodeRoutesDeps, err: NodeOfflineError): Promise<NodeOfflineError> {
  const row = await deps.store.get(err.nodeId);
  if (!row) {
    return new NodeOfflineError(
      err.nodeId,
      `node ${err.nodeId} is unknown and no agent is listening for it; nothing was run`,
    );
  }
  const status = toSummary(row, Date.now(), deps.liveness).status;
  return new NodeOfflineError(
    err.nodeId,
    `node ${err.nodeId} is offline (status ${status}, last seen ${new Date(row.last_seen).toISOString()}); nothing was run`,
  );
}
