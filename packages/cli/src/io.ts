/** What urctl writes to: a process stream, or a buffer in tests. */
export interface OutputStream {
  write(text: string): unknown;
  /** True for a terminal: progress bars are drawn only then. */
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

/** Where a command writes; the bin passes the process's streams, tests pass buffers. */
export interface CliIo {
  stdout: OutputStream;
  /** Also where progress bars are drawn (when stdout is a terminal). */
  stderr: OutputStream;
  env: Record<string, string | undefined>;
}

export const DEFAULT_HEADNODE_URL = 'http://127.0.0.1:8080';
