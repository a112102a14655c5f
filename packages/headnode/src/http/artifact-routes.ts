import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  ArtifactInstallBodySchema,
  ArtifactInstallResultSchema,
  ArtifactInstallResponseSchema,
  ArtifactListResponseSchema,
  ArtifactListResultSchema,
  ArtifactRemoveResponseSchema,
  ArtifactRemoveResultSchema,
  NDJSON_CONTENT_TYPE,
  parseCoordinate,
  WORD_PATTERN,
  type ArtifactInstallBody,
  type ArtifactInstallResponse,
  type ArtifactListResponse,
  type ArtifactRemoveResponse,
  type ExecuteRequest,
  type ProgressEvent,
} from '@ur/protocol';
import {
  AGENT_ERRORS,
  AgentFailure,
  assertCapable,
  isOn,
  QuerySwitch,
  resultOf,
  streamed,
  type AgentCommandDeps,
} from './agent-command.js';

export type ArtifactRoutesDeps = AgentCommandDeps;

const NodeParams = Type.Object({ id: Type.String({ pattern: WORD_PATTERN }) });
const ArtifactParams = Type.Object({
  id: Type.String({ pattern: WORD_PATTERN }),
  coordinate: Type.String({ description: 'groupId:artifactId:version', examples: ['com.example:app:1.0.0'] }),
});
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
