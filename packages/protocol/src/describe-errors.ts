import type { ErrorObject } from 'ajv';

/** One readable line for the first schema violation, e.g. `missing field "script"`. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined): string {
  const first = errors?.[0];
  if (!first) return 'does not match the schema';
  const where = first.instancePath === '' ? 'body' : first.instancePath.slice(1).replaceAll('/', '.');
  if (first.keyword === 'required') {
    return `missing field ${JSON.stringify((first.params as { missingProperty: string }).missingProperty)}`;
  }
  return `${where} ${first.message ?? 'is invalid'}`;
}
