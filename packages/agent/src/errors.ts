/**
 * The request queue has arguments this agent cannot use and another process
 * consumes it: an agent of an older version with the same node id. Left
 * alone; the agent retries until it is gone.
 */
export class RequestQueueInUseError extends Error {
  readonly queue: string;
  readonly consumers: number;

  constructor(queue: string, consumers: number) {
    super(`${queue} was declared by an older agent that is still consuming it (${consumers} consumer(s))`);
    this.name = 'RequestQueueInUseError';
    this.queue = queue;
    this.consumers = consumers;
  }
}
