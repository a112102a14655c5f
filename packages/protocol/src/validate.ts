import type { Static, TSchema } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { describeErrors } from './describe-errors.js';
import type { Decoded } from './json-body.js';

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

/** Checks a parsed value against any schema (the agent's hot path uses the precompiled validators instead). */
export function check<S extends TSchema>(schema: S, value: unknown): Decoded<Static<S>> {
  const fn = validatorFor(schema);
  if (fn(value)) return { ok: true, value: value as Static<S> };
  return { ok: false, error: describeErrors(fn.errors) };
}
