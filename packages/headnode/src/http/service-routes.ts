import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  MAX_LOG_LINES,
  MAX_TIMEOUT_SECONDS,
  NDJSON_CONTENT_TYPE,
  parseCoordinate,
  parseServiceCoordinate,
  ServiceDrainBodySchema,
  ServiceInfoResponseSchema,
  ServiceInfoSchema,
  ServiceListResponseSchema,
  ServiceListResultSchema,
  ServiceLogsResponseSchema,
  ServiceLogsResultSchema,
  ServiceRestartBodySchema,
  ServiceStartBodySchema,
  ServiceStartResponseSchema,
  ServiceStartResultSchema,
  ServiceStopBodySchema,
  ServiceStopResponseSchema,
  ServiceStopResultSchema,
  WORD_PATTERN,
  type ExecuteRequest,
  type ProgressEvent,
  type ServiceDrainBody,
  type ServiceRestartBody,
  type ServiceStartBody,
  type ServiceStopBody,
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

export type ServiceRoutesDeps = AgentCommandDeps;

const NodeParams = Type.Object({ id: Type.String({ pattern: WORD_PATTERN }) });
const ServiceParams = Type.Object({
  id: Type.String({ pattern: WORD_PATTERN }),
  coordinate: Type.String({ description: 'instance.service.user.cell', examples: ['1.myservice.borud.fbu'] }),
});
type ServiceParamsType = { id: string; coordinate: string };

const LogsQuery = Type.Object({
  lines: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_LOG_LINES, default: 100 })),
  follow: QuerySwitch,
  timeout: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, maximum: MAX_TIMEOUT_SECONDS, description: 'Seconds to follow.' }),
  ),
});

/** Lets a POST without a body through validation as `{}` (every field of these bodies is optional). */
const emptyBody = {
  preValidation: (request: FastifyRequest, _reply: unknown, done: () => void): void => {
    request.body ??= {};
    done();
  },
};

/** A drain waits for the service: the agent's answer may take its drain timeout and then some. */
const DRAIN_MARGIN_S = 10;

function serviceCoordinate(text: string): string {
  parseServiceCoordinate(text); // throws INVALID_SERVICE_COORDINATE with the reason
  return text;
}

/**
 * `/v1/nodes/:id/services`: start, stop, drain, restart, list and read the
 * logs of supervised services through the agent's `service.*` commands.
 * The inventory's view (from the nodes' service events) is in
 * `GET /v1/nodes/:id`; these routes ask the node.
 */
export function registerServiceRoutes(app: FastifyInstance, deps: ServiceRoutesDeps): void {
  /** Runs one command and answers its typed result (or the agent's error with its status). */
  const run = async <S extends TSchema>(
    nodeId: string,
    command: ExecuteRequest,
    timeout: number,
    schema: S,
  ): Promise<{ requestId: string; result: Static<S> }> => {
    await assertCapable(deps, nodeId, command.type);
    const dispatched = await deps.dispatcher.execute(nodeId, command, timeout);
    return { requestId: dispatched.requestId, result: resultOf(dispatched.reply, schema, nodeId) };
  };

  app.post<{ Params: { id: string }; Body: ServiceStartBody }>(
    '/v1/nodes/:id/services',
    {
      schema: {
        summary: 'Start a service on a node from an installed artifact',
        description:
          '201 when started (it runs, or its health check passed), 200 when it already ran with the same ' +
          'artifact, options, restart policy and overrides; 409 SERVICE_CONFLICT when it runs with others.',
        params: NodeParams,
        body: ServiceStartBodySchema,
        response: { 200: ServiceStartResponseSchema, 201: ServiceStartResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const body = request.body;
      const command: ExecuteRequest = {
        type: 'service.start',
        coordinate: serviceCoordinate(body.coordinate),
        artifact: body.artifact,
      };
      parseCoordinate(body.artifact);
      if (body.options !== undefined) command.options = body.options;
      if (body.restart !== undefined) command.restart = body.restart;
      if (body.overrides !== undefined) command.overrides = body.overrides;
      try {
        const { requestId, result } = await run(
          nodeId,
          command,
          body.timeout ?? deps.defaultTimeoutSeconds,
          ServiceStartResultSchema,
        );
        return await reply
          .status(result.already_running ? 200 : 201)
          .send({ node_id: nodeId, request_id: requestId, ...result });
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.post<{ Params: ServiceParamsType; Body: ServiceStopBody | undefined }>(
    '/v1/nodes/:id/services/:coordinate/stop',
    {
      ...emptyBody,
      schema: {
        summary: 'Stop a service: its stop signal to the whole process group, SIGKILL after its stop timeout',
        description: 'Body (optional): {forget?: true to also forget it, timeout?}.',
        params: ServiceParams,
        body: ServiceStopBodySchema,
        response: { 200: ServiceStopResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const body = request.body ?? {};
      const command: ExecuteRequest = {
        type: 'service.stop',
        coordinate: serviceCoordinate(request.params.coordinate),
      };
      if (body.forget !== undefined) command.forget = body.forget;
      try {
        const { requestId, result } = await run(
          nodeId,
          command,
          body.timeout ?? deps.defaultTimeoutSeconds,
          ServiceStopResultSchema,
        );
        return await reply.send({ node_id: nodeId, request_id: requestId, ...result });
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.post<{ Params: ServiceParamsType; Body: ServiceDrainBody | undefined }>(
    '/v1/nodes/:id/services/:coordinate/drain',
    {
      ...emptyBody,
      schema: {
        summary: 'Drain a service: its drain signal, no restart; waits for it to exit on its own',
        description:
          'Body (optional): {drain_timeout?: seconds (default the service’s), timeout?}. 504 DRAIN_TIMEOUT ' +
          'when it did not exit in time; it keeps draining.',
        params: ServiceParams,
        body: ServiceDrainBodySchema,
        response: { 200: ServiceInfoResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const body = request.body ?? {};
      const command: ExecuteRequest = {
        type: 'service.drain',
        coordinate: serviceCoordinate(request.params.coordinate),
      };
      if (body.drain_timeout !== undefined) command.drain_timeout = body.drain_timeout;
      const timeout =
        body.timeout ?? Math.max(deps.defaultTimeoutSeconds, (body.drain_timeout ?? 0) + DRAIN_MARGIN_S);
      try {
        const { requestId, result } = await run(nodeId, command, timeout, ServiceInfoSchema);
        return await reply.send({ node_id: nodeId, request_id: requestId, ...result });
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.post<{ Params: ServiceParamsType; Body: ServiceRestartBody | undefined }>(
    '/v1/nodes/:id/services/:coordinate/restart',
    {
      ...emptyBody,
      schema: {
        summary: 'Restart a service: stop, then start with what it was started with',
        params: ServiceParams,
        body: ServiceRestartBodySchema,
        response: { 200: ServiceStartResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const command: ExecuteRequest = {
        type: 'service.restart',
        coordinate: serviceCoordinate(request.params.coordinate),
      };
      try {
        const { requestId, result } = await run(
          nodeId,
          command,
          request.body?.timeout ?? deps.defaultTimeoutSeconds,
          ServiceStartResultSchema,
        );
        return await reply.send({ node_id: nodeId, request_id: requestId, ...result });
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/nodes/:id/services',
    {
      schema: {
        summary: "A node's services with their states (asks the node)",
        params: NodeParams,
        response: { 200: ServiceListResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      try {
        const { requestId, result } = await run(
          nodeId,
          { type: 'service.list' },
          deps.defaultTimeoutSeconds,
          ServiceListResultSchema,
        );
        return await reply.send({ node_id: nodeId, request_id: requestId, ...result });
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.get<{ Params: ServiceParamsType }>(
    '/v1/nodes/:id/services/:coordinate',
    {
      schema: {
        summary: 'One service: state, process, restarts, last exits (asks the node)',
        params: ServiceParams,
        response: { 200: ServiceInfoResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const command: ExecuteRequest = {
        type: 'service.status',
        coordinate: serviceCoordinate(request.params.coordinate),
      };
      try {
        const { requestId, result } = await run(
          nodeId,
          command,
          deps.defaultTimeoutSeconds,
          ServiceInfoSchema,
        );
        return await reply.send({ node_id: nodeId, request_id: requestId, ...result });
      } catch (err) {
        if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
        throw err;
      }
    },
  );

  app.get<{ Params: ServiceParamsType; Querystring: { lines?: number; follow?: string; timeout?: number } }>(
    '/v1/nodes/:id/services/:coordinate/logs',
    {
      schema: {
        summary: "The last lines of a service's output (stdout and stderr)",
        description:
          `?lines=N (default 100). With ?follow=1 the answer is ${NDJSON_CONTENT_TYPE}: progress events whose ` +
          '`data` is output (the last lines first), until ?timeout seconds (default the headnode’s default ' +
          'timeout) or the client goes away, then the result line.',
        params: ServiceParams,
        querystring: LogsQuery,
        response: { 200: ServiceLogsResponseSchema, ...AGENT_ERRORS },
      },
    },
    async (request, reply) => {
      const nodeId = request.params.id;
      const command: ExecuteRequest = {
        type: 'service.logs',
        coordinate: serviceCoordinate(request.params.coordinate),
        lines: request.query.lines ?? 100,
      };
      const timeout = request.query.timeout ?? deps.defaultTimeoutSeconds;
      await assertCapable(deps, nodeId, command.type);
      const logs = async (onProgress?: (event: ProgressEvent) => void) => {
        const dispatched = await deps.dispatcher.execute(nodeId, command, timeout, { onProgress });
        const result = resultOf(dispatched.reply, ServiceLogsResultSchema, nodeId);
        return { status: 200, response: { node_id: nodeId, request_id: dispatched.requestId, ...result } };
      };
      if (!isOn(request.query.follow)) {
        try {
          return await reply.send((await logs()).response);
        } catch (err) {
          if (err instanceof AgentFailure) return reply.status(err.status).send(err.body);
          throw err;
        }
      }
      // Nobody reads any more: stop following on the node.
      const abandon = (requestId: string): void => {
        deps.dispatcher.execute(nodeId, { type: 'cancel', request_id: requestId }, 30).catch(() => undefined);
      };
      return streamed(reply, logs, abandon);
    },
  );
}
