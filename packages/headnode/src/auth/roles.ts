/**
 * API token roles, each allowing what the ones before it allow:
 * `read` sees everything and changes nothing; `operate` also runs commands
 * and changes nodes (labels, reservations); `admin` also manages trust in
 * node keys.
 */
export const API_ROLES = ['read', 'operate', 'admin'] as const;
export type ApiRole = (typeof API_ROLES)[number];

export function isApiRole(value: unknown): value is ApiRole {
  return typeof value === 'string' && (API_ROLES as readonly string[]).includes(value);
}

export function roleAllows(held: ApiRole, needed: ApiRole): boolean {
  return API_ROLES.indexOf(held) >= API_ROLES.indexOf(needed);
}

/**
 * Routes that need more than their method implies, by `METHOD /route/:pattern`.
 * Everything else: GET and HEAD need `read`, any other method `operate`, so a
 * route added without an entry here is never open to `read` tokens.
 */
const ROUTE_ROLES: Record<string, ApiRole> = {
  'POST /v1/nodes/:id/trust': 'admin',
  'POST /v1/nodes/:id/forget': 'admin',
};

/** The role a request to `route` (the route's pattern, not the URL) needs. */
export function roleFor(method: string, route: string): ApiRole {
  const listed = ROUTE_ROLES[`${method} ${route}`];
  if (listed) return listed;
  return method === 'GET' || method === 'HEAD' ? 'read' : 'operate';
}
