import { Type, type Static } from '@sinclair/typebox';
import { ArtifactSummarySchema } from './artifact.js';

/** Our addition to Triton's sysinfo: what this agent is and which request types it runs. */
export const UrAgentInfoSchema = Type.Object(
  {
    version: Type.String(),
    protocol: Type.Integer(),
    capabilities: Type.Array(Type.String()),
    started_at: Type.Optional(Type.String()),
    heartbeat_interval_s: Type.Optional(Type.Number()),
    console_port: Type.Optional(
      Type.Union([Type.Integer(), Type.Null()], { description: "The agent's local console/status port." }),
    ),
    public_key: Type.Optional(
      Type.String({
        description:
          'The key the agent signs its messages with (`ed25519:<base64>`); the headnode pins it on first use.',
      }),
    ),
    verifies_requests: Type.Optional(
      Type.Boolean({
        description:
          'True if the agent runs only requests signed by a trusted key; false in compatible mode (unprotected).',
      }),
    ),
  },
  { title: 'UrAgentInfo' },
);
export type UrAgentInfo = Static<typeof UrAgentInfoSchema>;

export const NetworkInterfaceSchema = Type.Object({
  'MAC Address': Type.String(),
  ip4addr: Type.String(),
  'Link Status': Type.Optional(Type.String()),
  'NIC Names': Type.Array(Type.String()),
});

/**
 * Triton-style sysinfo as sent on `ur.startup.<id>` and `ur.sysinfo.<id>.<x>`.
 * Triton agents send many more keys, so the schema is open; only UUID is
 * required (CNAPI checks that it equals the routing key's node id).
 * "Setup" is a string ("true"/"false") or a boolean, as CNAPI accepts.
 */
export const SysinfoSchema = Type.Object(
  {
    UUID: Type.String(),
    Hostname: Type.Optional(Type.String()),
    'System Type': Type.Optional(Type.String()),
    'Boot Time': Type.Optional(Type.String({ description: 'Seconds since the epoch, as a string.' })),
    'CPU Total Cores': Type.Optional(Type.Integer()),
    'MiB of Memory': Type.Optional(Type.String()),
    'Network Interfaces': Type.Optional(Type.Record(Type.String(), NetworkInterfaceSchema)),
    Setup: Type.Optional(Type.Union([Type.String(), Type.Boolean()])),
    'Serial Number': Type.Optional(Type.String()),
    Manufacturer: Type.Optional(Type.String()),
    Product: Type.Optional(Type.String()),
    'CPU Type': Type.Optional(Type.String()),
    // Ours, for inventory and capacity (Triton agents do not send them).
    'CPU Milli Cores': Type.Optional(Type.Integer({ minimum: 0 })),
    'Memory Bytes': Type.Optional(Type.Integer({ minimum: 0 })),
    'Disk Bytes': Type.Optional(Type.Integer({ minimum: 0, description: 'Total size of the local disks.' })),
    'BMC Address': Type.Optional(
      Type.Union([Type.String(), Type.Null()], { description: 'IPMI/BMC LAN address; null when none.' }),
    ),
    'Ur Agent': Type.Optional(UrAgentInfoSchema),
    'Ur Artifacts': Type.Optional(
      Type.Array(ArtifactSummarySchema, { description: 'Installed software artifacts (ours).' }),
    ),
  },
  { title: 'Sysinfo', additionalProperties: true },
);
export type Sysinfo = Static<typeof SysinfoSchema> & Record<string, unknown>;
