/** A stream urctl writes to; the bin passes the process's (TTY or not), tests pass buffers. */
export interface CliStream {
  write(text: string): unknown;
  /** True on a terminal: progress bars are drawn only there. */
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/** Where a command writes; the bin passes the process's streams, tests pass buffers. */
export interface CliIo {
  stdout: CliStream;
  /** Also where progress bars are drawn (when stdout is a terminal). */
  stderr: CliStream;
  env: Record<string, string | undefined>;
}

export const DEFAULT_HEADNODE_URL = 'http://127.0.0.1:8080';
