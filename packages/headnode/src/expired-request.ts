import type { MessageProperties } from 'amqplib';
import { isWord, parseRoutingKey } from '@ur/protocol';

interface XDeath {
  'routing-keys'?: unknown;
}

/**
 * The request id of a request dead-lettered on `ur.expired.<node-id>`: its
 * correlation id (ours sets one), else the original `ur.execute.<node>.<id>`
 * key the broker records in the `x-death` header.
 */
export function expiredRequestId(properties: MessageProperties): string | undefined {
  const correlationId: unknown = properties.correlationId;
  if (typeof correlationId === 'string' && isWord(correlationId)) return correlationId;
  const deaths = (properties.headers as Record<string, unknown> | undefined)?.['x-death'];
  if (!Array.isArray(deaths)) return undefined;
  for (const death of deaths as XDeath[]) {
    const keys = death['routing-keys'];
    if (!Array.isArray(keys)) continue;
    for (const key of keys) {
      try {
        const parsed = parseRoutingKey(String(key));
        if (parsed.kind === 'execute') return parsed.requestId;
      } catch {
        // not an execute key
      }
    }
  }
  return undefined;
}
