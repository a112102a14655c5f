import { Type, type Static } from '@sinclair/typebox';
import { EVENT_PATTERN } from './event-pattern.js';

/**
 * Webhooks (REST API v1): events whose type matches one of a hook's patterns
 * are POSTed to its URL as JSON, signed with HMAC-SHA256 of the body under
 * the hook's secret (`X-Ur-Signature: sha256=<hex>`), with the event id in
 * `X-Ur-Event-Id` for de-duplication: delivery is at least once.
 */
export const HOOK_ID_PATTERN = '^[A-Za-z0-9_-]{1,64}$';

const EventPatternSchema = Type.String({
  pattern: EVENT_PATTERN,
  description: 'An event type (job.completed) or a glob where * matches anything (node.*, job.node.*, *).',
});

export const HookCreateBodySchema = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', maxLength: 2048, description: 'Where events are POSTed.' }),
    events: Type.Array(EventPatternSchema, { minItems: 1, maxItems: 64 }),
    secret: Type.Optional(
      Type.String({
        minLength: 16,
        maxLength: 256,
        description: 'HMAC key for X-Ur-Signature; generated (and answered once) when absent.',
      }),
    ),
    description: Type.Optional(Type.String({ maxLength: 256 })),
  },
  { title: 'HookCreateBody', additionalProperties: false },
);
export type HookCreateBody = Static<typeof HookCreateBodySchema>;

export const HookSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Type.Array(Type.String()),
    description: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String(),
    after_event_id: Type.String({
      description: 'Events after this one are delivered (those since creation).',
    }),
    pending: Type.Integer({ description: 'Deliveries not yet made (retrying or waiting for a slot).' }),
    failed: Type.Integer({ description: 'Deliveries given up on after the retry period.' }),
  },
  { title: 'Hook' },
);
export type Hook = Static<typeof HookSchema>;

export const HookCreatedSchema = Type.Composite(
  [HookSchema, Type.Object({ secret: Type.String({ description: 'Shown only in this answer.' }) })],
  { title: 'HookCreated' },
);
export type HookCreated = Static<typeof HookCreatedSchema>;

export const HookListSchema = Type.Object({ hooks: Type.Array(HookSchema) }, { title: 'HookList' });
export type HookList = Static<typeof HookListSchema>;

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const HookDeliverySchema = Type.Object(
  {
    id: Type.String(),
    hook_id: Type.String(),
    event_id: Type.String(),
    event_type: Type.String(),
    status: Type.Union(
      DELIVERY_STATUSES.map((s) => Type.Literal(s)),
      {
        description:
          'pending: not delivered yet (retried with backoff); delivered: a 2xx answer; ' +
          'failed: no 2xx answer within the retry period.',
      },
    ),
    attempts: Type.Integer(),
    last_status: Type.Union([Type.Integer(), Type.Null()], {
      description: 'HTTP status of the last attempt.',
    }),
    last_error: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String(),
    last_attempt_at: Type.Union([Type.String(), Type.Null()]),
    next_attempt_at: Type.Union([Type.String(), Type.Null()]),
    delivered_at: Type.Union([Type.String(), Type.Null()]),
  },
  { title: 'HookDelivery' },
);
export type HookDelivery = Static<typeof HookDeliverySchema>;

export const HookDeliveryListSchema = Type.Object(
  { hook_id: Type.String(), deliveries: Type.Array(HookDeliverySchema) },
  { title: 'HookDeliveryList' },
);
export type HookDeliveryList = Static<typeof HookDeliveryListSchema>;

export const HookDeliveryQuerySchema = Type.Object({
  status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
});
export type HookDeliveryQuery = Static<typeof HookDeliveryQuerySchema>;
