import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import {
  HOOK_ID_PATTERN,
  HookCreateBodySchema,
  HookCreatedSchema,
  HookDeliveryListSchema,
  HookDeliveryQuerySchema,
  HookListSchema,
  HookSchema,
  type Hook,
  type HookCreateBody,
  type HookCreated,
  type HookDelivery,
  type HookDeliveryList,
  type HookDeliveryQuery,
  type HookList,
} from '@ur/protocol';
import { HookNotFoundError } from '../errors.js';
import type { HookService } from '../hooks/hook-service.js';
import type { DeliveryRow, HookRow, HookStore } from '../store/hook-store.js';
import { errors } from './node-routes.js';

export interface HookRoutesDeps {
  service: HookService;
  hooks: HookStore;
}

const HookParams = Type.Object({ id: Type.String({ pattern: HOOK_ID_PATTERN }) });
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function toHook(row: HookRow, outstanding: { pending: number; failed: number } | undefined): Hook {
  return {
    id: row.id,
    url: row.url,
    events: JSON.parse(row.events) as string[],
    description: row.description,
    created_at: new Date(row.created_at).toISOString(),
    after_event_id: String(row.after_event_id),
    pending: outstanding?.pending ?? 0,
    failed: outstanding?.failed ?? 0,
  };
}

function toDelivery(row: DeliveryRow): HookDelivery {
  return {
    id: String(row.id),
    hook_id: row.hook_id,
    event_id: String(row.event_id),
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    last_status: row.last_status,
    last_error: row.last_error,
    created_at: new Date(row.created_at).toISOString(),
    last_attempt_at: iso(row.last_attempt_at),
    next_attempt_at: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    delivered_at: iso(row.delivered_at),
  };
}

/** Webhooks: events POSTed to a URL, signed, retried, recorded. */
export function registerHookRoutes(app: FastifyInstance, deps: HookRoutesDeps): void {
  app.post<{ Body: HookCreateBody }>(
    '/v1/hooks',
    {
      schema: {
        summary:
          'Add a webhook for events matching patterns (node.*, job.completed, …); answers its secret once',
        body: HookCreateBodySchema,
        response: { 201: HookCreatedSchema, ...errors(400) },
      },
    },
    async (request, reply): Promise<HookCreated> => {
      const row = await deps.service.create(request.body);
      reply.status(201);
      return { ...toHook(row, undefined), secret: row.secret };
    },
  );

  app.get(
    '/v1/hooks',
    { schema: { summary: 'The webhooks (without their secrets)', response: { 200: HookListSchema } } },
    async (): Promise<HookList> => {
      const [rows, outstanding] = await Promise.all([deps.hooks.list(), deps.hooks.outstanding()]);
      return { hooks: rows.map((r) => toHook(r, outstanding.get(r.id))) };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/hooks/:id',
    {
      schema: {
        summary: 'One webhook',
        params: HookParams,
        response: { 200: HookSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<Hook> => {
      const row = await deps.hooks.get(request.params.id);
      if (!row) throw new HookNotFoundError(request.params.id);
      return toHook(row, (await deps.hooks.outstanding()).get(row.id));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/hooks/:id',
    {
      schema: {
        summary: 'Remove a webhook and its deliveries (those not made are dropped)',
        params: HookParams,
        response: { 204: Type.Null(), ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      if (!(await deps.hooks.delete(request.params.id))) throw new HookNotFoundError(request.params.id);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { id: string }; Querystring: HookDeliveryQuery }>(
    '/v1/hooks/:id/deliveries',
    {
      schema: {
        summary: "A webhook's deliveries, newest first: status, attempts, last answer or error",
        params: HookParams,
        querystring: HookDeliveryQuerySchema,
        response: { 200: HookDeliveryListSchema, ...errors(400, 404) },
      },
    },
    async (request): Promise<HookDeliveryList> => {
      const { id } = request.params;
      if (!(await deps.hooks.get(id))) throw new HookNotFoundError(id);
      const rows = await deps.hooks.deliveries(id, {
        status: request.query.status,
        limit: request.query.limit ?? 100,
      });
      return { hook_id: id, deliveries: rows.map(toDelivery) };
    },
  );
}
