/**
 * The placeholder syntax of manifests, start overrides and templates:
 * `{{ name.path }}` is replaced by the value at that path of the context
 * (e.g. `{{options.port}}`, `{{service.instance}}`, `{{dirs.runtime}}`).
 * Lookup only: no expressions, no code, no filters. A name must resolve to a
 * string, number or boolean; anything else is an error, so a typo never
 * renders as an empty string. Text that is not `{{ name }}` (a lone `{{`,
 * `{{ 1 + 2 }}`) is kept as it is.
 */
const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*)\s*\}\}/g;

export type PlaceholderContext = Readonly<Record<string, unknown>>;

/** A placeholder names nothing, or something that is not text. */
export class PlaceholderError extends Error {
  readonly placeholder: string;
  readonly where: string;

  constructor(placeholder: string, where: string, reason: string) {
    super(`${where}: {{${placeholder}}} ${reason}`);
    this.name = 'PlaceholderError';
    this.placeholder = placeholder;
    this.where = where;
  }
}

function lookup(context: PlaceholderContext, path: string): unknown {
  let value: unknown = context;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, key)) {
      return undefined;
    }
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Fills in every placeholder of `text`; `where` names the field for error messages. */
export function renderPlaceholders(text: string, context: PlaceholderContext, where: string): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => {
    const value = lookup(context, name);
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    const reason =
      value === undefined
        ? 'names nothing'
        : `is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'an object'}, not text`;
    throw new PlaceholderError(name, where, reason);
  });
}

/** True if `text` holds at least one placeholder. */
export function hasPlaceholders(text: string): boolean {
  PLACEHOLDER.lastIndex = 0;
  const found = PLACEHOLDER.test(text);
  PLACEHOLDER.lastIndex = 0;
  return found;
}
