import { Type, type Static } from '@sinclair/typebox';
import { ServiceCountsSchema } from './service.js';

/** `ur.heartbeat.<node-id>`: small and frequent, separate from the full sysinfo. */
export const HeartbeatSchema = Type.Object(
  {
    type: Type.Literal('heartbeat'),
    node_id: Type.String(),
    seq: Type.Integer({ minimum: 0, description: 'Increases by one per heartbeat since agent start.' }),
    sent_at: Type.String(),
    interval_s: Type.Number({ description: 'Seconds until the next heartbeat.' }),
    uptime_s: Type.Number(),
    load: Type.Array(Type.Number(), { description: '1, 5 and 15 minute load averages.' }),
    mem_free_mib: Type.Number(),
    running: Type.Integer({ minimum: 0, description: 'Commands running now.' }),
    /** Supervised services by state (absent from agents that have none). */
    services: Type.Optional(ServiceCountsSchema),
  },
  { title: 'Heartbeat' },
);
export type Heartbeat = Static<typeof HeartbeatSchema>;

/** `ur.shutdown.<node-id>`: the agent is stopping on purpose (not a failure). */
export const ShutdownSchema = Type.Object(
  {
    type: Type.Literal('shutdown'),
    node_id: Type.String(),
    sent_at: Type.String(),
    reason: Type.String(),
  },
  { title: 'Shutdown' },
);
export type Shutdown = Static<typeof ShutdownSchema>;

/** `ur.ping.<node-id>`, exactly as node-urclient sends it. */
export const PingRequestSchema = Type.Object({
  client_id: Type.String(),
  id: Type.Union([Type.String(), Type.Number()]),
});
export type PingRequest = Static<typeof PingRequestSchema>;

/** The answer on `ur.ack<client_id>.<node-id>`. */
export const PingAckSchema = Type.Object({
  req_id: Type.Union([Type.String(), Type.Number()]),
  timestamp: Type.String(),
});
export type PingAck = Static<typeof PingAckSchema>;
