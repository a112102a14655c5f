import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  ArtifactInstallBodySchema,
  ArtifactInstallResultSchema,
  ArtifactInstallResponseSchema,
  ArtifactListResponseSchema,
  ArtifactListResultSchema,
  ArtifactRemoveResponseSchema,
  ArtifactRemoveResultSchema,
  check,
  ErrorBodySchema,
  httpStatusOf,
  NDJSON_CONTENT_TYPE,
  parseCoordinate,
  UrError,
  WORD_PATTERN,
  type ArtifactInstallBody,
  type ArtifactInstallResponse,
  type ArtifactListResponse,
  type ArtifactRemoveResponse,
  type ErrorBody,
  type ExecuteReply,
  type ExecuteRequest,
  type ProgressEvent,
  type StreamLine,
} from '@ur/protocol';
import type { CommandDispatcher } from '../command-dispatcher.js';
import { ApiError } from '../errors.js';
import type { HeadnodeStores } from '../store/stores.js';

export interface ArtifactRoutesDeps {
  stores: HeadnodeStores;
  dispatcher: CommandDispatcher;
  defaultTimeoutSeconds: number;
}

const NodeParams = Type.Object({ id: Type.String({ pattern: WORD_PATTERN }) });
const ArtifactParams = Type.Object({
  id: Type.String({ pattern: WORD_PATTERN }),
  coordinate: Type.String({ description: 'groupId:artifactId:version', examples: ['com.example:app:1.0.0'] }),
});
/** A query switch: `?stream=1`, `?force=true`. */
const QuerySwitch = Type.Optional(Type.String({ pattern: '^(1|0|true|false)$' }));
const isOn = (value: string | undefined): boolean => value === '1' || value === 'true';

const errors = (...statuses: number[]): Record<number, typeof ErrorBodySchema> =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBodySchema]));
const AGENT_ERRORS = errors(400, 404, 409, 413, 422, 500, 502, 503, 504);

/** The agent said no: its error, with the HTTP status of its code (a reply-level code is a failed gateway). */
class AgentFailure extends Error {
  readonly status: number;
  readonly body: ErrorBody;

  constructor(body: ErrorBody) {
    super(body.message);
    const status = httpStatusOf(body.code);
    this.status = status >= 400 ? status : body.code === 'TIMED_OUT' ? 504 : 502;
    this.body = body;
  }
}

function statusOf(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof AgentFailure) return { status: err.status, body: err.body };
  if (err instanceof UrError) return { status: httpStatusOf(err.code), body: err.toBody() };
  return { status: 500, body: { code: 'INTERNAL_ERROR', message: 'internal error; see the headnode log' } };
}

/** The typed result of an artifact command, or the failure to answer with. */
function resultOf<S extends TSchema>(reply: ExecuteReply, schema: S, nodeId: string): Static<S> {
  if (reply.error) throw new AgentFailure(reply.error);
  const checked = check(schema, reply.result);
  if (!checked.ok) {
    throw new AgentFailure({
      code: 'INTERNAL_ERROR',
      message: `node ${nodeId} answered without a valid result (exit status ${reply.exit_status}): ${checked.error.message}`,
    });
  }
  return checked.value;
}

/** Only our agents announce the artifact commands; a Triton Ur agent would not know them. */
async function assertCapable(
  deps: ArtifactRoutesDeps,
  nodeId: string,
  type: ExecuteRequest['type'],
): Promise<void> {
  const row = await deps.stores.nodes.get(nodeId);
  if (!row || row.capabilities === null) return; // unknown: the dispatch says whether anyone listens
  const capabilities = JSON.parse(row.capabilities) as unknown;
  if (Array.isArray(capabilities) && !capabilities.includes(type)) {
    throw new ApiError(
      'UNKNOWN_TYPE',
      `node ${nodeId} does not support ${type} (${row.agent_version === null ? 'a Triton Ur agent' : `ur-agent ${row.agent_version}`})`,
    );
  }
}

function parsed(coordinate: string): string {
  parseCoordinate(coordinate); // throws INVALID_COORDINATE with the reason
  return coordinate;
}

/**
 * `/v1/nodes/:id/artifacts`: install, remove and list software artifacts on
 * a node through the agent's `artifact.*` commands. `?stream=1` on install
 * answers NDJSON: the node's progress events, then the outcome.
 */
export function registerArtifactRoutes(app: FastifyInstance, deps: ArtifactRoutesDeps): void {
  app.post<{ Params: { id: string }; Body: ArtifactInstallBody; Querystring: { stream?: string } }>(
    '/v1/nodes/:id/artifacts',
    {
      schema: {
        summary: 'Install a software artifact on a node',
        description:
          '201 when installed, 200 when that version was already there. With ?stream=1 the answer is ' +
          `${NDJSON_CONTENT_TYPE}: progress events ({type: "progress", stage, progress: {done, total, unit}}), ` +
          'then one {type: "result", status, result} or {type: "error", status, error} line.',
        params: NodeParams,
        querystring: Type.Object({ stream: QuerySwitch }),
        body: ArtifactInstallBodySchema,
        response: { 200: ArtifactInstallResponseSchema, 201: ArtifactInstallResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const body = request.body;
      const command: ExecuteRequest = { type: 'artifact.install', coordinate: parsed(body.coordinate) };
      if (body.url !== undefined) command.url = body.url;
      if (body.sha256 !== undefined) command.sha256 = body.sha256;
      await assertCapable(deps, nodeId, command.type);
      const timeout = body.timeout ?? deps.defaultTimeoutSeconds;
      const install = async (
        onProgress?: (event: ProgressEvent) => void,
      ): Promise<{ status: number; response: ArtifactInstallResponse }> => {
        const dispatched = await deps.dispatcher.execute(nodeId, command, timeout, { onProgress });
        const result = resultOf(dispatched.reply, ArtifactInstallResultSchema, nodeId);
        const response = { node_id: nodeId, request_id: dispatched.requestId, ...result };
        return { status: result.already_installed ? 200 : 201, response };
      };
      if (!isOn(request.query.stream)) {
        try {
          const { status, response } = await install();
          return await reply.status(status).send(response);
        } catch (err) {
          if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
          throw err;
        }
      }
      return streamed(reply, install);
    },
  );

  app.delete<{ Params: { id: string; coordinate: string }; Querystring: { force?: string } }>(
    '/v1/nodes/:id/artifacts/:coordinate',
    {
      schema: {
        summary: 'Remove an installed artifact version from a node',
        description: 'Refused with 409 ARTIFACT_IN_USE when a running service uses it, unless ?force=true.',
        params: ArtifactParams,
        querystring: Type.Object({ force: QuerySwitch }),
        response: { 200: ArtifactRemoveResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const command: ExecuteRequest = {
        type: 'artifact.remove',
        coordinate: parsed(request.params.coordinate),
        force: isOn(request.query.force),
      };
      await assertCapable(deps, nodeId, command.type);
      try {
        const dispatched = await deps.dispatcher.execute(nodeId, command, deps.defaultTimeoutSeconds);
        const result = resultOf(dispatched.reply, ArtifactRemoveResultSchema, nodeId);
        const response: ArtifactRemoveResponse = {
          node_id: nodeId,
          request_id: dispatched.requestId,
          ...result,
        };
        return await reply.send(response);
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/nodes/:id/artifacts',
    {
      schema: {
        summary: 'List the artifacts installed on a node (asks the node)',
        params: NodeParams,
        response: { 200: ArtifactListResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      await assertCapable(deps, nodeId, 'artifact.list');
      try {
        const dispatched = await deps.dispatcher.execute(
          nodeId,
          { type: 'artifact.list' },
          deps.defaultTimeoutSeconds,
        );
        const result = resultOf(dispatched.reply, ArtifactListResultSchema, nodeId);
        const response: ArtifactListResponse = {
          node_id: nodeId,
          request_id: dispatched.requestId,
          ...result,
        };
        return await reply.send(response);
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );
}

/**
 * Answers NDJSON: the response starts with the first progress event, so
 * failures before the node took the request (offline, invalid) are still
 * ordinary error responses; after that the outcome is the last line.
 */
async function streamed<T>(
  reply: FastifyReply,
  run: (onProgress: (event: ProgressEvent) => void) => Promise<{ status: number; response: T }>,
): Promise<FastifyReply> {
  let started = false;
  const write = (line: StreamLine<T>): void => {
    if (!started) {
      started = true;
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': NDJSON_CONTENT_TYPE, 'cache-control': 'no-store' });
    }
    if (!reply.raw.destroyed) reply.raw.write(`${JSON.stringify(line)}\n`);
  };
  let last: StreamLine<T>;
  try {
    const { status, response } = await run(write);
    last = { type: 'result', status, result: response };
  } catch (err) {
    if (!started && !(err instanceof AgentFailure)) throw err;
    const { status, body } = statusOf(err);
    last = { type: 'error', status, error: body };
  }
  write(last);
  reply.raw.end();
  return reply;
}
