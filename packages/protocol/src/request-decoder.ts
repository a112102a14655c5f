import type { ErrorObject } from 'ajv';
import { REQUEST_TYPES } from './constants.js';
import { describeErrors } from './describe-errors.js';
import type { ErrorBody } from './errors.js';
import * as generated from './generated/validators.js';
import { parseJsonBody, type Decoded } from './json-body.js';
import type { ExecuteRequest } from './messages/execute-request.js';
import type { PingRequest } from './messages/liveness.js';
import type { ServiceManifest } from './messages/service.js';

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Precompiled validators by generated export name (request type with `.` → `_`; other schemas by title). */
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
  const known: readonly string[] = REQUEST_TYPES;
  const validate = typeof type === 'string' && known.includes(type) ? validatorFor(type) : undefined;
  if (validate === undefined) {
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

/**
 * `ur-service.json`, the service manifest at an artifact's root. Errors say
 * where, as `manifest.<field> ...`.
 */
export function checkServiceManifest(value: unknown): Decoded<ServiceManifest> {
  const checked = run<ServiceManifest>(validatorFor('ServiceManifest')!, value);
  if (checked.ok) return checked;
  const error: ErrorBody = { code: 'INVALID_SERVICE_SPEC', message: checked.error.message };
  return { ok: false, error };
}
