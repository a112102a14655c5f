import type { FastifyInstance, FastifyReply } from 'fastify';
import { roleAllows, roleFor } from '../auth/roles.js';
import { ApiError } from '../errors.js';
import type { TokenStore } from '../store/token-store.js';

/** Answered without a token, always: load balancers and monitors use it. */
const OPEN_ROUTES = new Set(['/v1/ping']);

function unauthenticated(reply: FastifyReply, message: string): ApiError {
  void reply.header('www-authenticate', 'Bearer realm="ur-headnode"');
  return new ApiError('UNAUTHENTICATED', message);
}

/**
 * Bearer-token authentication for every route but /v1/ping, from the moment
 * the first token exists (a fresh headnode is open, as before, until an
 * operator runs `ur-headnode tokens create`). The role a route needs comes
 * from one table (auth/roles.ts). Tokens are never logged.
 */
export function registerAuth(app: FastifyInstance, tokens: TokenStore): void {
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route !== undefined && OPEN_ROUTES.has(route)) return;
    const header = request.headers.authorization;
    if (header === undefined) {
      if (!(await tokens.required())) return;
      throw unauthenticated(
        reply,
        'this headnode requires an API token: send Authorization: Bearer <token> (urctl: UR_TOKEN or its config file)',
      );
    }
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (!match) throw unauthenticated(reply, 'the Authorization header must be "Bearer <token>"');
    const who = await tokens.authenticate(match[1]!);
    if (!who) throw unauthenticated(reply, 'the API token is not valid (unknown, revoked or mistyped)');
    // A route that does not exist needs only read: its 404 reveals nothing.
    const needed = roleFor(request.method, route ?? '');
    if (route !== undefined && !roleAllows(who.role, needed)) {
      throw new ApiError(
        'FORBIDDEN',
        `token ${who.id} (${who.name}) has role ${who.role}; ${request.method} ${route} needs ${needed}`,
      );
    }
  });
}
