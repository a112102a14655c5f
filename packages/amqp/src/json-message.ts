import { randomUUID } from 'node:crypto';
import type { Options } from 'amqplib';

export interface JsonMessageOptions {
  /** Who sent it, e.g. `ur-agent/0.1.0`; shown in the management UI. */
  appId: string;
  /** The request id this message belongs to. */
  correlationId?: string | undefined;
  /** The message kind, e.g. `execute-reply`; shown in the management UI. */
  type?: string | undefined;
  /** Survive a broker restart (delivery mode 2). @default false */
  persistent?: boolean | undefined;
  /** Drop (or dead-letter) the message if not consumed within this many ms. */
  expirationMs?: number | undefined;
  /** Returned as unroutable when no queue is bound. @default false */
  mandatory?: boolean | undefined;
  /** Receivers de-duplicate by it, so a message sent again keeps its id. @default a new random UUID */
  messageId?: string | undefined;
}

export interface JsonMessage {
  content: Buffer;
  options: Options.Publish & { messageId: string };
}

/**
 * Encodes a body as a JSON message whose properties read well in the RabbitMQ
 * management UI: content type, app id, correlation id, type, timestamp.
 */
export function jsonMessage(body: unknown, opts: JsonMessageOptions): JsonMessage {
  const options: JsonMessage['options'] = {
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    appId: opts.appId,
    messageId: opts.messageId ?? randomUUID(),
    timestamp: Math.floor(Date.now() / 1000),
    persistent: opts.persistent ?? false,
    mandatory: opts.mandatory ?? false,
  };
  if (opts.correlationId !== undefined) options.correlationId = opts.correlationId;
  if (opts.type !== undefined) options.type = opts.type;
  if (opts.expirationMs !== undefined) options.expiration = String(Math.max(0, Math.ceil(opts.expirationMs)));
  return { content: Buffer.from(JSON.stringify(body)), options };
}
