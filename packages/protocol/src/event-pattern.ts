/**
 * Event type patterns, as webhooks and `GET /v1/events?types=` take them:
 * an exact type (`job.completed`) or a glob where `*` matches any run of
 * characters, dots included (`node.*`, `job.node.*`, `*`).
 */
export const EVENT_PATTERN = '^[a-z*][a-z_.*]{0,63}$';
const EVENT_PATTERN_RE = new RegExp(EVENT_PATTERN);

export function isEventPattern(pattern: string): boolean {
  return EVENT_PATTERN_RE.test(pattern);
}

export function matchesEventPattern(pattern: string, type: string): boolean {
  if (!pattern.includes('*')) return pattern === type;
  const re = new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
  return re.test(type);
}

export function matchesAnyEventPattern(patterns: readonly string[], type: string): boolean {
  return patterns.some((p) => matchesEventPattern(p, type));
}

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
