import { jsonMessage, type ConfirmPublisher } from '@ur/amqp';
import { pingKey, type Logger, type PingRequest } from '@ur/protocol';
import { HEADNODE_APP_ID } from './version.js';

/**
 * Pings Triton Ur agents, which send no heartbeats, the way node-urclient
 * does: `ur.ping.<node>` with `{client_id, id}`, answered on
 * `ur.ack<client_id>.<node>` (the headnode's own queue). Pings are
 * `mandatory`: one that no queue takes means the agent is gone.
 */
export class LegacyPinger {
  readonly #exchange: string;
  readonly #clientId: string;
  readonly #log: Logger;
  readonly #onUnroutable: (nodeId: string) => void;
  #publisher: ConfirmPublisher | undefined;
  #seq = 0;

  constructor(exchange: string, clientId: string, onUnroutable: (nodeId: string) => void, logger: Logger) {
    this.#exchange = exchange;
    this.#clientId = clientId;
    this.#onUnroutable = onUnroutable;
    this.#log = logger;
  }

  attach(publisher: ConfirmPublisher | undefined): void {
    this.#publisher = publisher;
  }

  /** Pings every node in `nodeIds`; resolves when the broker has confirmed each. */
  async ping(nodeIds: readonly string[]): Promise<void> {
    const publisher = this.#publisher;
    if (!publisher) return;
    await Promise.all(
      nodeIds.map(async (nodeId) => {
        const body: PingRequest = { client_id: this.#clientId, id: `${this.#clientId}-${this.#seq++}` };
        try {
          const outcome = await publisher.publish(
            this.#exchange,
            pingKey(nodeId),
            jsonMessage(body, { appId: HEADNODE_APP_ID, type: 'ping', mandatory: true }),
          );
          if (outcome === 'unroutable') this.#onUnroutable(nodeId);
        } catch (err) {
          this.#log.debug('ping failed', { nodeId, error: String(err) });
        }
      }),
    );
  }
}
