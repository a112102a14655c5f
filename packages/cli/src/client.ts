import type {
  HookCreateBody,
  HookCreated,
  HookDeliveryList,
  HookList,
  JobCreateBody,
  JobDetail,
  JobList,
  JobSummary,
  ArtifactInstallBody,
  ArtifactInstallResponse,
  ArtifactListResponse,
  ArtifactRemoveResponse,
  ErrorBody,
  ExecuteBody,
  ExecuteResponse,
  NodeDetail,
  NodeList,
  NodeListQuery,
  NodePatchBody,
  NodeTransitionList,
  PingResponse,
  ProgressEvent,
  ServiceDrainBody,
  ServiceInfoResponse,
  ServiceListResponse,
  ServiceLogsResponse,
  ServiceStartBody,
  ServiceStartResponse,
  ServiceStopBody,
  ServiceStopResponse,
} from '@ur/protocol';
import {
  isErrorCode,
  NDJSON_CONTENT_TYPE,
  readSse,
  type SseMessage,
  type StreamLine,
} from '@ur/protocol/wire';

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

  installArtifact(id: string, body: ArtifactInstallBody): Promise<ArtifactInstallResponse> {
    return this.#request('POST', `${this.#artifacts(id)}`, body);
  }

  /** Installs with `?stream=1`, passing the node's progress events to `onProgress` as they come. */
  async installArtifactStreaming(
    id: string,
    body: ArtifactInstallBody,
    onProgress: (event: ProgressEvent) => void,
  ): Promise<ArtifactInstallResponse> {
    const path = `${this.#artifacts(id)}?stream=1`;
    const response = await this.#fetch('POST', path, body);
    if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith(NDJSON_CONTENT_TYPE)) {
      return this.#parse(response, 'POST', path);
    }
    for await (const line of ndjsonLines(response)) {
      const item = line as StreamLine<ArtifactInstallResponse>;
      if (item.type === 'progress') onProgress(item);
      else if (item.type === 'result') return item.result;
      else if (item.type === 'error') {
        const code = isErrorCode(item.error.code) ? item.error.code : 'UNEXPECTED_RESPONSE';
        throw new HeadnodeError(item.status, code, item.error.message);
      }
    }
    throw new HeadnodeError(
      response.status,
      'UNEXPECTED_RESPONSE',
      `POST ${path}: the stream ended without a result`,
    );
  }

  removeArtifact(id: string, coordinate: string, force: boolean): Promise<ArtifactRemoveResponse> {
    const query = force ? '?force=true' : '';
    return this.#request('DELETE', `${this.#artifacts(id)}/${encodeURIComponent(coordinate)}${query}`);
  }

  listArtifacts(id: string): Promise<ArtifactListResponse> {
    return this.#request('GET', this.#artifacts(id));
  }

  startService(id: string, body: ServiceStartBody): Promise<ServiceStartResponse> {
    return this.#request('POST', this.#services(id), body);
  }

  stopService(id: string, coordinate: string, body: ServiceStopBody = {}): Promise<ServiceStopResponse> {
    return this.#request('POST', `${this.#service(id, coordinate)}/stop`, body);
  }

  drainService(id: string, coordinate: string, body: ServiceDrainBody = {}): Promise<ServiceInfoResponse> {
    return this.#request('POST', `${this.#service(id, coordinate)}/drain`, body);
  }

  restartService(id: string, coordinate: string): Promise<ServiceStartResponse> {
    return this.#request('POST', `${this.#service(id, coordinate)}/restart`, {});
  }

  listServices(id: string): Promise<ServiceListResponse> {
    return this.#request('GET', this.#services(id));
  }

  serviceStatus(id: string, coordinate: string): Promise<ServiceInfoResponse> {
    return this.#request('GET', this.#service(id, coordinate));
  }

  serviceLogs(id: string, coordinate: string, lines: number): Promise<ServiceLogsResponse> {
    return this.#request('GET', `${this.#service(id, coordinate)}/logs?lines=${lines}`);
  }

  /**
   * Follows a service's output (`?follow=1`): `onOutput` gets the last
   * `lines` lines and then new output as it comes, until `timeout` seconds
   * pass (or the caller aborts `signal`).
   */
  async followServiceLogs(
    id: string,
    coordinate: string,
    options: { lines: number; timeout: number | undefined; signal?: AbortSignal | undefined },
    onOutput: (text: string) => void,
  ): Promise<ServiceLogsResponse> {
    const timeout = options.timeout === undefined ? '' : `&timeout=${options.timeout}`;
    const path = `${this.#service(id, coordinate)}/logs?lines=${options.lines}&follow=1${timeout}`;
    const response = await this.#fetch('GET', path, undefined, options.signal);
    if (!response.ok || !(response.headers.get('content-type') ?? '').startsWith(NDJSON_CONTENT_TYPE)) {
      return this.#parse(response, 'GET', path);
    }
    for await (const line of ndjsonLines(response)) {
      const item = line as StreamLine<ServiceLogsResponse>;
      if (item.type === 'progress') {
        if (item.stage === 'output' && item.data !== undefined) onOutput(item.data);
      } else if (item.type === 'result') return item.result;
      else if (item.type === 'error') {
        const code = isErrorCode(item.error.code) ? item.error.code : 'UNEXPECTED_RESPONSE';
        throw new HeadnodeError(item.status, code, item.error.message);
      }
    }
    throw new HeadnodeError(
      response.status,
      'UNEXPECTED_RESPONSE',
      `GET ${path}: the stream ended without a result`,
    );
  }

  #services(id: string): string {
    return `/v1/nodes/${encodeURIComponent(id)}/services`;
  }

  #service(id: string, coordinate: string): string {
    return `${this.#services(id)}/${encodeURIComponent(coordinate)}`;
  }

  #artifacts(id: string): string {
    return `/v1/nodes/${encodeURIComponent(id)}/artifacts`;
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
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
      response = await fetch(url, { headers });
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
    if (!response.ok || response.body === null) {
      await this.#parse(response, 'GET', path);
      throw new HeadnodeError(response.status, 'UNEXPECTED_RESPONSE', `GET ${path}: no event stream`);
    }
    try {
      yield* readSse(response.body);
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
  }

  /** Pins the key the node offers (or clears its mismatch flag). */
  trustNode(id: string): Promise<NodeDetail> {
    return this.#request('POST', `/v1/nodes/${encodeURIComponent(id)}/trust`);
  }

  /** Forgets the node's pinned key; its next announcement pins one. */
  forgetNode(id: string): Promise<NodeDetail> {
    return this.#request('POST', `/v1/nodes/${encodeURIComponent(id)}/forget`);
  }

  async #fetch(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    try {
      return await fetch(`${this.#base}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        signal: signal ?? null,
      });
    } catch (err) {
      throw new HeadnodeUnreachableError(this.#base, { cause: err });
    }
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#parse(await this.#fetch(method, path, body), method, path);
  }

  async #parse<T>(response: Response, method: string, path: string): Promise<T> {
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

/** The JSON values of an NDJSON response body, one per line. */
async function* ndjsonLines(response: Response): AsyncGenerator<unknown> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for await (const chunk of response.body) {
    buffered += decoder.decode(chunk as Uint8Array, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== '') yield JSON.parse(line) as unknown;
    }
  }
  if (buffered.trim() !== '') yield JSON.parse(buffered) as unknown;
}
