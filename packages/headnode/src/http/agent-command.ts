import type { FastifyReply } from 'fastify';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  check,
  ErrorBodySchema,
  httpStatusOf,
  NDJSON_CONTENT_TYPE,
  UrError,
  type ErrorBody,
  type ExecuteReply,
  type ExecuteRequest,
  type ProgressEvent,
  type StreamLine,
} from '@ur/protocol';
import type { CommandDispatcher } from '../command-dispatcher.js';
import { ApiError } from '../errors.js';
import type { HeadnodeStores } from '../store/stores.js';

/**
 * What the routes that run one of our agent's typed commands (artifacts,
 * services) share: the capability check, the typed result, the mapping of
 * the agent's error to an HTTP status, and NDJSON streaming of progress.
 */
export interface AgentCommandDeps {
  stores: HeadnodeStores;
  dispatcher: CommandDispatcher;
  defaultTimeoutSeconds: number;
}

/** A query switch: `?stream=1`, `?force=true`. */
export const QuerySwitch = Type.Optional(Type.String({ pattern: '^(1|0|true|false)$' }));
export const isOn = (value: string | undefined): boolean => value === '1' || value === 'true';

const errors = (...statuses: number[]): Record<number, typeof ErrorBodySchema> =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBodySchema]));
export const AGENT_ERRORS = errors(400, 404, 409, 413, 422, 500, 502, 503, 504);

/** The agent said no: its error, with the HTTP status of its code (a reply-level code is a failed gateway). */
export class AgentFailure extends Error {
  readonly status: number;
  readonly body: ErrorBody;

  constructor(body: ErrorBody) {
    super(body.message);
    const status = httpStatusOf(body.code);
    this.status = status >= 400 ? status : body.code === 'TIMED_OUT' ? 504 : 502;
    this.body = body;
  }
}

function statusOf(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof AgentFailure) return { status: err.status, body: err.body };
  if (err instanceof UrError) return { status: httpStatusOf(err.code), body: err.toBody() };
  return { status: 500, body: { code: 'INTERNAL_ERROR', message: 'internal error; see the headnode log' } };
}

/** The typed result of a command, or the failure to answer with. */
export function resultOf<S extends TSchema>(reply: ExecuteReply, schema: S, nodeId: string): Static<S> {
  if (reply.error) throw new AgentFailure(reply.error);
  const checked = check(schema, reply.result);
  if (!checked.ok) {
    throw new AgentFailure({
      code: 'INTERNAL_ERROR',
      message: `node ${nodeId} answered without a valid result (exit status ${reply.exit_status}): ${checked.error.message}`,
    });
  }
  return checked.value;
}

/** Only our agents announce these commands; a Triton Ur agent would not know them. */
export async function assertCapable(
  deps: AgentCommandDeps,
  nodeId: string,
  type: ExecuteRequest['type'],
): Promise<void> {
  const row = await deps.stores.nodes.get(nodeId);
  if (!row || row.capabilities === null) return; // unknown: the dispatch says whether anyone listens
  const capabilities = JSON.parse(row.capabilities) as unknown;
  if (Array.isArray(capabilities) && !capabilities.includes(type)) {
    throw new ApiError(
      'UNKNOWN_TYPE',
      `node ${nodeId} does not support ${type} (${row.agent_version === null ? 'a Triton Ur agent' : `ur-agent ${row.agent_version}`})`,
    );
  }
}

/**
 * Answers NDJSON: the response starts with the first progress event, so
 * failures before the node took the request (offline, invalid) are still
 * ordinary error responses; after that the outcome is the last line.
 * `onAbandoned` runs if the client goes away before the outcome.
 */
export async function streamed<T>(
  reply: FastifyReply,
  run: (onProgress: (event: ProgressEvent) => void) => Promise<{ status: number; response: T }>,
  onAbandoned?: (requestId: string) => void,
): Promise<FastifyReply> {
  let started = false;
  let finished = false;
  const write = (line: StreamLine<T>): void => {
    if (!started) {
      started = true;
      reply.hijack();
      reply.raw.writeHead(200, { 'content-type': NDJSON_CONTENT_TYPE, 'cache-control': 'no-store' });
      if (onAbandoned && line.type === 'progress') {
        const requestId = line.request_id;
        reply.raw.once('close', () => {
          if (!finished) onAbandoned(requestId);
        });
      }
    }
    if (!reply.raw.destroyed) reply.raw.write(`${JSON.stringify(line)}\n`);
  };
  let last: StreamLine<T>;
  try {
    const { status, response } = await run(write);
    last = { type: 'result', status, result: response };
  } catch (err) {
    if (!started && !(err instanceof AgentFailure)) throw err;
    const { status, body } = statusOf(err);
    last = { type: 'error', status, error: body };
  }
  finished = true;
  write(last);
  reply.raw.end();
  return reply;
}
