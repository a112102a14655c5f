/**
 * The service vocabulary without TypeBox, for the wire entry (the agent and
 * urctl import it at start-up); the schemas in `service.ts` are built from it.
 */
export const SERVICE_STATES = [
  'starting',
  'running',
  'draining',
  'stopping',
  'stopped',
  'exited',
  'backoff',
  'failed',
] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];

export const RESTART_POLICIES = ['always', 'on-failure', 'never'] as const;
export type RestartPolicyName = (typeof RESTART_POLICIES)[number];

/** Most lines one `service.logs` request returns. */
export const MAX_LOG_LINES = 10_000;
