import type { FastifyInstance } from 'fastify';
import { NodeDetailSchema, type NodeDetail } from '@ur/protocol';
import { ApiError, NodeNotFoundError } from '../errors.js';
import { toDetail } from '../node-view.js';
import type { HeadnodeStores } from '../store/stores.js';
import { errors, NodeParams } from './node-routes.js';

export interface NodeKeyRoutesDeps {
  stores: HeadnodeStores;
  /** The pinned key changed here (null: forgotten). */
  keyChanged: (nodeId: string, publicKey: string | null) => void;
}

/** Trust on first use, managed: pin the key a node offers, or forget the pinned one. */
export function registerNodeKeyRoutes(app: FastifyInstance, deps: NodeKeyRoutesDeps): void {
  const { nodes, keys, services } = deps.stores;
  const detail = async (id: string): Promise<NodeDetail> => {
    const row = await nodes.get(id);
    if (!row) throw new NodeNotFoundError(id);
    return toDetail(row, await services.forNode(id));
  };

  app.post<{ Params: { id: string } }>(
    '/v1/nodes/:id/trust',
    {
      schema: {
        summary: 'Pin the new key a node offers (after a reinstall), or clear a mismatch flag',
        description:
          'A node whose announcements came signed by a new key (offered_key) gets that key pinned; ' +
          'without an offered key, a mismatch flag is cleared and the pinned key kept. Needs an admin token.',
        params: NodeParams,
        response: { 200: NodeDetailSchema, ...errors(401, 403, 404, 409) },
      },
    },
    async (request): Promise<NodeDetail> => {
      const { id } = request.params;
      const result = await keys.trust(id);
      if (result.outcome === 'unknown') throw new NodeNotFoundError(id);
      if (result.outcome === 'nothing') {
        throw new ApiError('NO_OFFERED_KEY', `node ${id} has offered no new key, and its key is not flagged`);
      }
      deps.keyChanged(id, result.publicKey);
      return detail(id);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/nodes/:id/forget',
    {
      schema: {
        summary: "Forget a node's pinned key: its next announcement pins one again (trust on first use)",
        params: NodeParams,
        response: { 200: NodeDetailSchema, ...errors(401, 403, 404) },
      },
    },
    async (request): Promise<NodeDetail> => {
      const { id } = request.params;
      if (!(await keys.forget(id))) throw new NodeNotFoundError(id);
      deps.keyChanged(id, null);
      return detail(id);
    },
  );
}
