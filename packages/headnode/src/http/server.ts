import swagger from '@fastify/swagger';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { ErrorBodySchema, httpStatusOf, UrError, type Logger } from '@ur/protocol';
import type { EventBus } from '../event-bus.js';
import type { HookService } from '../hooks/hook-service.js';
import type { OutputHub } from '../jobs/output-hub.js';
import { HEADNODE_VERSION } from '../version.js';
import { registerAuth } from './auth-hook.js';
import { registerCommandRoutes } from './command-routes.js';
import { registerArtifactRoutes } from './artifact-routes.js';
import { registerNodeKeyRoutes, type NodeKeyRoutesDeps } from './node-key-routes.js';
import { registerEventRoutes } from './event-routes.js';
import { registerHookRoutes } from './hook-routes.js';
import { registerJobRoutes } from './job-routes.js';
import { registerNodeRoutes, type NodeRoutesDeps } from './node-routes.js';
import { registerReservationRoutes } from './reservation-routes.js';
import { SseStreams } from './sse.js';
import { registerServiceRoutes } from './service-routes.js';

export type ApiDeps = NodeRoutesDeps &
  NodeKeyRoutesDeps & {
    brokerConnected: () => boolean;
    logger: Logger;
    bus: EventBus;
    outputs: OutputHub;
    hooks: HookService;
  };

/** Requests larger than this are refused (scripts are the largest bodies). */
const BODY_LIMIT_BYTES = 8 * 1024 * 1024;

/** The REST API (v1): routes declared with the protocol's schemas, errors as `{code, message}`. */
export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT_BYTES });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Ur headnode API',
        version: HEADNODE_VERSION,
        description:
          'Node inventory, commands and jobs for Ur agents, webhooks and event streams. Errors are {code, message}.',
      },
    },
  });

  app.setErrorHandler((err: FastifyError | UrError, request, reply) => {
    if (err instanceof UrError) {
      return reply.status(httpStatusOf(err.code)).send(err.toBody());
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      deps.logger.error('request failed', { method: request.method, url: request.url, error: err.message });
      return reply
        .status(500)
        .send({ code: 'INTERNAL_ERROR', message: 'internal error; see the headnode log' });
    }
    return reply.status(status).send({ code: 'VALIDATION_FAILED', message: err.message });
  });
  registerAuth(app, deps.stores.tokens);
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url}` }),
  );
  app.addHook('onResponse', (request, reply, done) => {
    deps.logger.debug('http', {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
    });
    done();
  });

  app.get('/v1/ping', { schema: { summary: 'Liveness of the headnode and its broker connection' } }, () => ({
    ok: true,
    version: HEADNODE_VERSION,
    broker: deps.brokerConnected() ? 'connected' : 'disconnected',
  }));
  const sse = new SseStreams();
  // Event streams never end by themselves: end them so close() does not wait for them.
  app.addHook('preClose', (done) => {
    sse.closeAll();
    done();
  });
  registerNodeRoutes(app, deps);
  registerReservationRoutes(app, deps.stores);
  registerCommandRoutes(app, deps.stores);
  registerArtifactRoutes(app, deps);
  registerNodeKeyRoutes(app, deps);
  registerJobRoutes(app, {
    manager: deps.jobs,
    jobs: deps.stores.jobs,
    events: deps.stores.events,
    bus: deps.bus,
    outputs: deps.outputs,
    sse,
    headnodeId: deps.headnodeId,
    log: deps.logger,
  });
  registerHookRoutes(app, { service: deps.hooks, hooks: deps.stores.hooks });
  registerEventRoutes(app, { bus: deps.bus, events: deps.stores.events, sse, log: deps.logger });
  registerServiceRoutes(app, deps);
  app.get('/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.addSchema({ ...ErrorBodySchema, $id: 'ErrorBody' });
  return app;
}
