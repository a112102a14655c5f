/** What a secret value is replaced with wherever requests are recorded. */
export const REDACTED = '***';

/**
 * A copy of a request fit to store, log or show: the `env` values its
 * `secret_env` names are replaced with {@link REDACTED}. Anything that is not
 * such a request comes back unchanged.
 */
export function redactRequest<T>(request: T): T {
  if (typeof request !== 'object' || request === null) return request;
  const { env, secret_env: secret } = request as { env?: unknown; secret_env?: unknown };
  if (typeof env !== 'object' || env === null || !Array.isArray(secret) || secret.length === 0)
    return request;
  const names = new Set(secret.filter((name): name is string => typeof name === 'string'));
  const redacted = Object.fromEntries(
    Object.entries(env as Record<string, unknown>).map(([name, value]) => [
      name,
      names.has(name) ? REDACTED : value,
    ]),
  );
  return { ...request, env: redacted };
}
