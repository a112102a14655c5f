import type { ErrorObject } from 'ajv';
import type { ErrorBody } from './errors.js';
import { WORD_PATTERN } from './ids.js';

/** The error for the first schema violation, e.g. INVALID_REQUEST `missing field "script"`. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): ErrorBody {
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
