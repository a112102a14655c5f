import type { CommandStore } from './command-store.js';
import type { EventStore } from './event-store.js';
import type { NodeStore } from './node-store.js';
import type { ReservationStore } from './reservation-store.js';
import type { ServiceStore } from './service-store.js';

/** The headnode's tables, one store class each. */
export interface HeadnodeStores {
  nodes: NodeStore;
  events: EventStore;
  commands: CommandStore;
  reservations: ReservationStore;
  services: ServiceStore;
}
