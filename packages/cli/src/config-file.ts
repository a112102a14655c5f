import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What urctl's config file may say; flags and UR_* variables win over it. */
export interface CliConfig {
  headnode?: string | undefined;
  token?: string | undefined;
}

/** The config file cannot be used (readable by others, not JSON, wrong fields). */
export class CliConfigError extends Error {
  readonly path: string;

  constructor(path: string, reason: string, options?: ErrorOptions) {
    super(`${path}: ${reason}`, options);
    this.name = 'CliConfigError';
    this.path = path;
  }
}

/** `UR_CONFIG`, else `$XDG_CONFIG_HOME/ur/urctl.json`, else `~/.config/ur/urctl.json`. */
export function configPath(env: Record<string, string | undefined>): string {
  if (env.UR_CONFIG !== undefined && env.UR_CONFIG !== '') return env.UR_CONFIG;
  const base = env.XDG_CONFIG_HOME || join(env.HOME ?? homedir(), '.config');
  return join(base, 'ur', 'urctl.json');
}

/**
 * Reads the config file, `{"headnode": URL, "token": TOKEN}` (both
 * optional). It holds a token, so, like ssh with its keys, urctl refuses
 * a file that others can read or write. No file: no settings.
 */
export async function readCliConfig(path: string): Promise<CliConfig> {
  let mode: number;
  try {
    ({ mode } = await stat(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliConfigError(path, (err as Error).message, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new CliConfigError(
      path,
      `permissions ${(mode & 0o777).toString(8)} are too open (it may hold a token); chmod 600 ${path}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CliConfigError(path, `not JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliConfigError(
      path,
      'expected a JSON object such as {"headnode": "http://…", "token": "urt_…"}',
    );
  }
  const { headnode, token } = parsed as Record<string, unknown>;
  for (const [field, value] of [
    ['headnode', headnode],
    ['token', token],
  ] as const) {
    if (value !== undefined && typeof value !== 'string')
      throw new CliConfigError(path, `${field} must be a string`);
  }
  return { headnode: headnode as string | undefined, token: token as string | undefined };
}
