import type {
  ErrorBody,
  ExecuteBody,
  ExecuteResponse,
  HookCreateBody,
  HookCreated,
  HookDeliveryList,
  HookList,
  JobCreateBody,
  JobDetail,
  JobList,
  JobSummary,
  NodeDetail,
  NodeList,
  NodeListQuery,
  NodePatchBody,
  NodeTransitionList,
  PingResponse,
} from '@ur/protocol';
import { isErrorCode, readSse, type SseMessage } from '@ur/protocol/wire';

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

function queryString(query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const qs = params.toString();
  return qs ? `?${qs}` : '';
}

/** A small typed client of the headnode REST API (v1). */
export class HeadnodeClient {
  readonly #base: string;

  constructor(baseUrl: string) {
    this.#base = baseUrl.replace(/\/+$/, '');
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

  createJob(body: JobCreateBody): Promise<JobSummary> {
    return this.#request('POST', '/v1/jobs', body);
  }

  getJob(id: string, output = true): Promise<JobDetail> {
    return this.#request('GET', `/v1/jobs/${encodeURIComponent(id)}${output ? '' : '?output=false'}`);
  }

  listJobs(query: {
    state?: string | undefined;
    node_id?: string | undefined;
    limit?: number | undefined;
  }): Promise<JobList> {
    return this.#request('GET', `/v1/jobs${queryString(query)}`);
  }

  cancelJob(id: string): Promise<JobSummary> {
    return this.#request('POST', `/v1/jobs/${encodeURIComponent(id)}/cancel`);
  }

  addHook(body: HookCreateBody): Promise<HookCreated> {
    return this.#request('POST', '/v1/hooks', body);
  }

  listHooks(): Promise<HookList> {
    return this.#request('GET', '/v1/hooks');
  }

  deleteHook(id: string): Promise<void> {
    return this.#request('DELETE', `/v1/hooks/${encodeURIComponent(id)}`);
  }

  hookDeliveries(
    id: string,
    query: { status?: string | undefined; limit?: number | undefined },
  ): Promise<HookDeliveryList> {
    return this.#request('GET', `/v1/hooks/${encodeURIComponent(id)}/deliveries${queryString(query)}`);
  }

  /**
   * Follows a Server-Sent Events route (`/v1/events`, `/v1/jobs/:id/events`)
   * from `lastEventId` on; the messages end when the headnode ends the stream.
   */
  async *stream(path: string, lastEventId?: string): AsyncGenerator<SseMessage> {
    const url = `${this.#base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: {
          accept: 'text/event-stream',
          ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
        },
      });
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
    if (!response.ok || response.body === null) {
      await this.#answer('GET', path, response);
      throw new HeadnodeError(response.status, 'UNEXPECTED_RESPONSE', `GET ${path}: no event stream`);
    }
    try {
      yield* readSse(response.body);
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.#base}${path}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? null : JSON.stringify(body),
      });
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
    return this.#answer(method, path, response);
  }

  async #answer<T>(method: string, path: string, response: Response): Promise<T> {
    const text = await response.text();
    if (response.status === 204) return undefined as T;
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
