import type { Logger } from '@ur/protocol';

/**
 * A logger that keeps what it is told in `lines`, one
 * `level message {meta}` line each; a child's meta is merged into its lines.
 */
export function recordingLogger(lines: string[], meta: Record<string, unknown> = {}): Logger {
  const log =
    (level: string) =>
    (message: string, more?: Record<string, unknown>): void => {
      lines.push(`${level} ${message} ${JSON.stringify({ ...meta, ...more })}`);
    };
  return {
    error: log('error'),
    warn: log('warn'),
    info: log('info'),
    debug: log('debug'),
    child: (more) => recordingLogger(lines, { ...meta, ...more }),
  };
}
