import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseJsonBody, type Decoded } from './json-body.js';
import type { RequestType } from './constants.js';
import type { ErrorBody } from './errors.js';
import { WORD_PATTERN } from './ids.js';
import { requestSchemas, type ExecuteRequest } from './messages/execute-request.js';

const ajv = new Ajv({ allErrors: false, strict: false });
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Validators are compiled once per schema and cached: compiling is the slow part. */
function validatorFor(schema: TSchema): ValidateFunction {
  let fn = compiled.get(schema);
  if (!fn) {
    fn = ajv.compile(schema);
    compiled.set(schema, fn);
  }
  return fn;
}

function describe(errors: ErrorObject[] | null | undefined): ErrorBody {
  const first = errors?.[0];
  if (!first) return { code: 'INVALID_REQUEST', message: 'does not match the schema' };
  const where = first.instancePath === '' ? 'body' : first.instancePath.slice(1).replaceAll('/', '.');
  if (first.keyword === 'required') {
    const field = (first.params as { missingProperty: string }).missingProperty;
    return { code: 'INVALID_REQUEST', message: `missing field ${JSON.stringify(field)}` };
  }
  if (first.keyword === 'pattern' && (first.params as { pattern?: string }).pattern === WORD_PATTERN) {
    // An id field (e.g. a cancel's request_id) that could not be a routing-key word.
    return {
      code: 'INVALID_ID',
      message: `${where} must be 1-128 letters, digits, '_', '-' or ':' (no dots or wildcards)`,
    };
  }
  return { code: 'INVALID_REQUEST', message: `${where} ${first.message ?? 'is invalid'}` };
}

/** Checks a parsed value against a schema. */
export function check<S extends TSchema>(schema: S, value: unknown): Decoded<Static<S>> {
  const fn = validatorFor(schema);
  if (fn(value)) return { ok: true, value: value as Static<S> };
  return { ok: false, error: describe(fn.errors) };
}

function isRequestType(value: unknown): value is RequestType {
  return typeof value === 'string' && Object.hasOwn(requestSchemas, value);
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
  if (!isRequestType(type)) {
    return {
      ok: false,
      error: {
        code: 'UNKNOWN_TYPE',
        message: `unknown request type ${JSON.stringify(type)}; known: ${Object.keys(requestSchemas).join(', ')}`,
      },
    };
  }
  const schema: TSchema = requestSchemas[type];
  return check(schema, value) as Decoded<ExecuteRequest>;
}
