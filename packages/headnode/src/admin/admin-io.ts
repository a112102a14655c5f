/** Where the admin subcommands read their environment and write, so tests can run them in process. */
export interface AdminIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
}

/** A usage mistake: printed with the subcommand's usage, exit status 64. */
export class AdminUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminUsageError';
  }
}

/** sysexits.h, as urctl. */
export const EXIT_USAGE = 64;
export const EXIT_FAILURE = 1;
