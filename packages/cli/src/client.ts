import type {
  ErrorBody,
  ExecuteBody,
  ExecuteResponse,
  NodeDetail,
  NodeList,
  NodeListQuery,
  NodePatchBody,
  NodeTransitionList,
  PingResponse,
} from '@ur/protocol';
import { isErrorCode } from '@ur/protocol/wire';

/** The headnode answered with an error body. */
export class HeadnodeError extends Error {
  readonly status: number;
  readonly code: ErrorBody['code'] | 'UNEXPECTED_RESPONSE';

  constructor(status: number, code: HeadnodeError['code'], message: string) {
    super(message);
    this.name = 'HeadnodeError';
    this.status = status;
    this.code = code;
  }
}

/** The headnode could not be reached at all. */
export class HeadnodeUnreachableError extends Error {
  readonly url: string;

  constructor(url: string, options?: ErrorOptions) {
    super(`cannot reach the headnode at ${url}`, options);
    this.name = 'HeadnodeUnreachableError';
    this.url = url;
  }
}

/** A small typed client of the headnode REST API (v1). */
export class HeadnodeClient {
  readonly #base: string;
  readonly #token: string | undefined;

  /** `token`: an API token, sent as `Authorization: Bearer` (needed once the headnode has tokens). */
  constructor(baseUrl: string, token?: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#token = token;
  }

  ping(): Promise<PingResponse> {
    return this.#request('GET', '/v1/ping');
  }

  /** One page of the nodes a selector picks. */
  listNodes(query: { [K in keyof NodeListQuery]?: NodeListQuery[K] | undefined } = {}): Promise<NodeList> {
    const params = new URLSearchParams();
    if (query.where !== undefined) params.set('where', query.where);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.after !== undefined) params.set('after', query.after);
    const qs = params.toString();
    return this.#request('GET', `/v1/nodes${qs ? `?${qs}` : ''}`);
  }

  patchNode(id: string, body: NodePatchBody): Promise<NodeDetail> {
    return this.#request('PATCH', `/v1/nodes/${encodeURIComponent(id)}`, body);
  }

  transitions(id: string, limit?: number): Promise<NodeTransitionList> {
    const qs = limit === undefined ? '' : `?limit=${limit}`;
    return this.#request('GET', `/v1/nodes/${encodeURIComponent(id)}/transitions${qs}`);
  }

  getNode(id: string): Promise<NodeDetail> {
    return this.#request('GET', `/v1/nodes/${encodeURIComponent(id)}`);
  }

  execute(id: string, body: ExecuteBody): Promise<ExecuteResponse> {
    return this.#request('POST', `/v1/nodes/${encodeURIComponent(id)}/execute`, body);
  }

  /** Pins the key the node offers (or clears its mismatch flag). */
  trustNode(id: string): Promise<NodeDetail> {
    return this.#request('POST', `/v1/nodes/${encodeURIComponent(id)}/trust`);
  }

  /** Forgets the node's pinned key; its next announcement pins one. */
  forgetNode(id: string): Promise<NodeDetail> {
    return this.#request('POST', `/v1/nodes/${encodeURIComponent(id)}/forget`);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.#base}${path}`;
    let response: Response;
    try {
      const headers: Record<string, string> =
        body === undefined ? {} : { 'content-type': 'application/json' };
      if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new HeadnodeError(
        response.status,
        'UNEXPECTED_RESPONSE',
        `${method} ${path}: not JSON (HTTP ${response.status})`,
      );
    }
    if (!response.ok) {
      const err = parsed as Partial<ErrorBody>;
      const code = isErrorCode(err.code) ? err.code : 'UNEXPECTED_RESPONSE';
      throw new HeadnodeError(response.status, code, err.message ?? `HTTP ${response.status}`);
    }
    return parsed as T;
  }
}
