import { InvalidRoutingKeyError } from './errors.js';
import { assertWord, isWord } from './ids.js';

/**
 * Routing keys of the Ur protocol. Each kind has one builder that validates its
 * ids, and {@link parseRoutingKey} turns a key back into a typed value. The
 * shapes follow Triton's Ur (see shared/ur-wire-protocol.md); `heartbeat`,
 * `shutdown`, `execute-progress`, `expired` and `event` are ours.
 */
export const BROADCAST_KINDS = ['sysinfo', 'ping'] as const;
export type BroadcastKind = (typeof BROADCAST_KINDS)[number];

export type RoutingKey =
  | { kind: 'startup'; nodeId: string }
  | { kind: 'sysinfo'; nodeId: string; id: string }
  | { kind: 'heartbeat'; nodeId: string }
  | { kind: 'shutdown'; nodeId: string }
  | { kind: 'execute'; nodeId: string; requestId: string }
  | { kind: 'execute-reply'; nodeId: string; requestId: string }
  | { kind: 'execute-progress'; nodeId: string; requestId: string }
  | { kind: 'broadcast'; what: BroadcastKind; requestId: string }
  | { kind: 'ping'; nodeId: string }
  | { kind: 'ack'; clientId: string; nodeId: string }
  | { kind: 'expired'; nodeId: string }
  | { kind: 'event'; nodeId: string; name: string };

export type RoutingKeyKind = RoutingKey['kind'];

export const startupKey = (nodeId: string): string => `ur.startup.${assertWord(nodeId, 'node id')}`;

export const sysinfoKey = (nodeId: string, id: string): string =>
  `ur.sysinfo.${assertWord(nodeId, 'node id')}.${assertWord(id, 'request id')}`;

export const heartbeatKey = (nodeId: string): string => `ur.heartbeat.${assertWord(nodeId, 'node id')}`;

export const shutdownKey = (nodeId: string): string => `ur.shutdown.${assertWord(nodeId, 'node id')}`;

export const executeKey = (nodeId: string, requestId: string): string =>
  `ur.execute.${assertWord(nodeId, 'node id')}.${assertWord(requestId, 'request id')}`;

export const executeReplyKey = (nodeId: string, requestId: string): string =>
  `ur.execute-reply.${assertWord(nodeId, 'node id')}.${assertWord(requestId, 'request id')}`;

export const executeProgressKey = (nodeId: string, requestId: string): string =>
  `ur.execute-progress.${assertWord(nodeId, 'node id')}.${assertWord(requestId, 'request id')}`;

export const broadcastKey = (what: BroadcastKind, requestId: string): string =>
  `ur.broadcast.${what}.${assertWord(requestId, 'request id')}`;

export const pingKey = (nodeId: string): string => `ur.ping.${assertWord(nodeId, 'node id')}`;

/** Ur's ping answer: note there is no dot between `ack` and the client id. */
export const ackKey = (clientId: string, nodeId: string): string =>
  `ur.ack${assertWord(clientId, 'client id')}.${assertWord(nodeId, 'node id')}`;

/**
 * Requests that expire unconsumed in a node's request queue are dead-lettered
 * with this key (the queue's `x-dead-letter-routing-key`); the request id is
 * the message's correlation id, or the original key in its `x-death` header.
 */
export const expiredKey = (nodeId: string): string => `ur.expired.${assertWord(nodeId, 'node id')}`;

export const eventKey = (nodeId: string, name: string): string =>
  `ur.event.${assertWord(nodeId, 'node id')}.${assertWord(name, 'event name')}`;

/** Binding patterns, for consumers. */
export const bindings = {
  /** Every request addressed to one node. */
  executeFor: (nodeId: string): string => `ur.execute.${assertWord(nodeId, 'node id')}.*`,
  pingFor: (nodeId: string): string => pingKey(nodeId),
  allBroadcasts: 'ur.broadcast.*.*',
  allStartups: 'ur.startup.*',
  allSysinfo: 'ur.sysinfo.*.*',
  allHeartbeats: 'ur.heartbeat.*',
  allShutdowns: 'ur.shutdown.*',
  allReplies: 'ur.execute-reply.*.*',
  allProgress: 'ur.execute-progress.*.*',
  allEvents: 'ur.event.*.*',
  allExpired: 'ur.expired.*',
  acksFor: (clientId: string): string => `ur.ack${assertWord(clientId, 'client id')}.*`,
} as const;

function fail(key: string, reason: string): never {
  throw new InvalidRoutingKeyError(key, reason);
}

function word(key: string, value: string | undefined, what: string): string {
  if (value === undefined || !isWord(value)) {
    fail(key, `bad ${what}`);
  }
  return value;
}

/** Parses any Ur routing key; throws {@link InvalidRoutingKeyError} otherwise. */
export function parseRoutingKey(key: string): RoutingKey {
  const parts = key.split('.');
  if (parts[0] !== 'ur' || parts.length < 3) {
    fail(key, 'not an ur.* key');
  }
  const verb = parts[1] ?? '';
  const expect = (n: number): void => {
    if (parts.length !== n) fail(key, `expected ${n} words, got ${parts.length}`);
  };
  switch (verb) {
    case 'startup':
      expect(3);
      return { kind: 'startup', nodeId: word(key, parts[2], 'node id') };
    case 'heartbeat':
      expect(3);
      return { kind: 'heartbeat', nodeId: word(key, parts[2], 'node id') };
    case 'shutdown':
      expect(3);
      return { kind: 'shutdown', nodeId: word(key, parts[2], 'node id') };
    case 'ping':
      expect(3);
      return { kind: 'ping', nodeId: word(key, parts[2], 'node id') };
    case 'expired':
      expect(3);
      return { kind: 'expired', nodeId: word(key, parts[2], 'node id') };
    case 'sysinfo':
      expect(4);
      return { kind: 'sysinfo', nodeId: word(key, parts[2], 'node id'), id: word(key, parts[3], 'id') };
    case 'execute':
    case 'execute-reply':
    case 'execute-progress':
      expect(4);
      return {
        kind: verb,
        nodeId: word(key, parts[2], 'node id'),
        requestId: word(key, parts[3], 'request id'),
      };
    case 'broadcast': {
      expect(4);
      const what = parts[2] as BroadcastKind;
      if (!BROADCAST_KINDS.includes(what)) fail(key, `unknown broadcast ${JSON.stringify(parts[2])}`);
      return { kind: 'broadcast', what, requestId: word(key, parts[3], 'request id') };
    }
    case 'event':
      expect(4);
      return {
        kind: 'event',
        nodeId: word(key, parts[2], 'node id'),
        name: word(key, parts[3], 'event name'),
      };
    default:
      if (verb.startsWith('ack') && verb.length > 3) {
        expect(3);
        return {
          kind: 'ack',
          clientId: word(key, verb.slice(3), 'client id'),
          nodeId: word(key, parts[2], 'node id'),
        };
      }
      return fail(key, `unknown verb ${JSON.stringify(verb)}`);
  }
}
