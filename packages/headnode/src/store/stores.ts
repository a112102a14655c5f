import type { CommandStore } from './command-store.js';
import type { EventStore } from './event-store.js';
import type { NodeKeyStore } from './node-key-store.js';
import type { HookStore } from './hook-store.js';
import type { JobStore } from './job-store.js';
import type { NodeStore } from './node-store.js';
import type { ReservationStore } from './reservation-store.js';
import type { TokenStore } from './token-store.js';
import type { ServiceStore } from './service-store.js';

/** The headnode's tables, one store class each. */
export interface HeadnodeStores {
  nodes: NodeStore;
  events: EventStore;
  commands: CommandStore;
  reservations: ReservationStore;
  keys: NodeKeyStore;
  tokens: TokenStore;
  jobs: JobStore;
  hooks: HookStore;
  services: ServiceStore;
}
