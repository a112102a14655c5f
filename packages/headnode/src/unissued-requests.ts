/** Request ids remembered at most; a broadcast's replies arrive within moments of each other. */
const DEFAULT_MAX_REMEMBERED = 1_000;

/**
 * Answers "did a headnode issue this request and still await its result?"
 * through the store, asking once per request id that turns out not to be
 * issued: the replies to a broadcast (100 nodes answering another tool's
 * ping) all carry one request id, so one query answers all of them. A
 * request not issued stays so (commands are stored before they are
 * published), so forgetting old ids only bounds memory. Ids found issued are
 * asked again next time: their result may be recorded meanwhile.
 */
export class UnissuedRequests {
  readonly #awaitsResult: (requestId: string) => Promise<boolean>;
  readonly #max: number;
  readonly #answers = new Map<string, Promise<boolean>>();

  constructor(awaitsResult: (requestId: string) => Promise<boolean>, max = DEFAULT_MAX_REMEMBERED) {
    this.#awaitsResult = awaitsResult;
    this.#max = max;
  }

  /** True if the store holds the request as sent and without a result. */
  issued(requestId: string): Promise<boolean> {
    const known = this.#answers.get(requestId);
    if (known) return known;
    const answer = this.#awaitsResult(requestId);
    this.#answers.set(requestId, answer);
    if (this.#answers.size > this.#max) this.#answers.delete(this.#answers.keys().next().value as string);
    answer.then(
      (issued) => {
        if (issued) this.#answers.delete(requestId);
      },
      () => this.#answers.delete(requestId),
    );
    return answer;
  }
}
