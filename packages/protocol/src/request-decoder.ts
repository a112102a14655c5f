import type { ErrorObject } from 'ajv';
import { describeErrors } from './describe-errors.js';
import * as generated from './generated/validators.js';
import { parseJsonBody, type Decoded } from './json-body.js';
import type { ExecuteRequest } from './messages/execute-request.js';
import type { PingRequest } from './messages/liveness.js';

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Precompiled validators by generated export name (request type with `.` → `_`). */
const validators = generated as unknown as Record<string, Validate | undefined>;
const validatorFor = (name: string): Validate | undefined => validators[name.replace(/[^A-Za-z0-9]/g, '_')];

function run<T>(validate: Validate, value: unknown): Decoded<T> {
  if (validate(value)) return { ok: true, value: value as T };
  return { ok: false, error: describeErrors(validate.errors) };
}

/**
 * Decodes an execute request: size, UTF-8, JSON, an object with a known
 * `type`, then that type's schema. Each failure has its own error code.
 */
export function decodeExecuteRequest(body: Uint8Array, maxBytes = Infinity): Decoded<ExecuteRequest> {
  const parsed = parseJsonBody(body, maxBytes);
  return parsed.ok ? checkExecuteRequest(parsed.value) : parsed;
}

/** The checks of {@link decodeExecuteRequest} on an already parsed value. */
export function checkExecuteRequest(value: unknown): Decoded<ExecuteRequest> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, error: { code: 'INVALID_REQUEST', message: 'body must be a JSON object' } };
  }
  const type = (value as { type?: unknown }).type;
  if (type === undefined) {
    return { ok: false, error: { code: 'INVALID_REQUEST', message: 'missing field "type"' } };
  }
  const validate = typeof type === 'string' && !type.includes('_') ? validatorFor(type) : undefined;
  if (validate === undefined || type === 'ping') {
    const known = Object.keys(validators)
      .filter((k) => k !== 'ping')
      .map((k) => k.replace(/_/g, '.'));
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_TYPE',
        message: `unknown request type ${JSON.stringify(type)}; known: ${known.join(', ')}`,
      },
    };
  }
  return run<ExecuteRequest>(validate, value);
}

/** `ur.ping.<node>` bodies: `{client_id, id}`. */
export function checkPingRequest(value: unknown): Decoded<PingRequest> {
  return run<PingRequest>(validatorFor('ping')!, value);
}
