import type { FastifyRequest } from 'fastify';

/**
 * Who asked, as recorded with a job: what the caller says (`requested_by`
 * or the X-Ur-Requested-By header), else its address; and which headnode
 * took the request.
 */
export function requester(request: FastifyRequest, headnodeId: string, said?: string): string {
  const header = request.headers['x-ur-requested-by'];
  const who = said ?? (Array.isArray(header) ? header[0] : header) ?? request.ip;
  return `${who} via ${headnodeId}`;
}
