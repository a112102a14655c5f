import type { ProgressEvent } from '@ur/protocol';

export type OutputListener = (event: ProgressEvent) => void;

/**
 * Live output of running commands for whoever watches a job's event stream.
 * Every headnode receives every progress event (each has its own exclusive
 * queue), so a watcher connected to any headnode sees a job's output.
 * Output is not stored: the final result holds the (capped) output.
 */
export class OutputHub {
  readonly #byRequest = new Map<string, Set<OutputListener>>();

  /** Listens to the output of these requests until the returned function is called. */
  watch(requestIds: Iterable<string>, listener: OutputListener): () => void {
    const ids = [...requestIds];
    for (const id of ids) {
      let set = this.#byRequest.get(id);
      if (!set) {
        set = new Set();
        this.#byRequest.set(id, set);
      }
      set.add(listener);
    }
    return () => {
      for (const id of ids) {
        const set = this.#byRequest.get(id);
        set?.delete(listener);
        if (set?.size === 0) this.#byRequest.delete(id);
      }
    };
  }

  /** Whether anyone watches this request (checked before decoding its events). */
  wants(requestId: string): boolean {
    return this.#byRequest.has(requestId);
  }

  publish(event: ProgressEvent): void {
    for (const listener of this.#byRequest.get(event.request_id) ?? []) listener(event);
  }
}
