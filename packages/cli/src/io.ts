/** Where a command writes; the bin passes the process's streams, tests pass buffers. */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Record<string, string | undefined>;
}

export const DEFAULT_HEADNODE_URL = 'http://127.0.0.1:8080';
