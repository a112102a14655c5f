import { jsonMessage, type JsonMessage } from '@ur/amqp';
import type { ExecuteReply, Sysinfo } from '@ur/protocol/wire';
import { AGENT_APP_ID } from './version.js';

/**
 * The message for a reply on `ur.execute-reply.<node>.<request>`: persistent,
 * correlation id = request id. A reply sent again keeps its message id.
 */
export function replyMessage(
  requestId: string,
  reply: ExecuteReply | Sysinfo,
  messageId?: string,
): JsonMessage {
  return jsonMessage(reply, {
    appId: AGENT_APP_ID,
    type: 'execute-reply',
    correlationId: requestId,
    persistent: true,
    messageId,
  });
}
