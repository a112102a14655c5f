import type { Logger } from '@ur/protocol/wire';
import { HelpRequested } from './flags.js';

export interface ServiceHooks {
  name: string;
  logger: Logger;
  start(): Promise<void>;
  /** Graceful stop; a second signal exits at once. */
  stop(reason: string): Promise<void>;
}

/** Runs a long-lived service: starts it, stops it gracefully on SIGTERM/SIGINT, sets the exit code. */
export async function runService(hooks: ServiceHooks): Promise<void> {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      hooks.logger.warn('second signal: exiting now', { signal });
      process.exit(1);
    }
    stopping = true;
    hooks.logger.info('stopping', { signal });
    hooks.stop(`signal ${signal}`).then(
      () => process.exit(0),
      (err: unknown) => {
        hooks.logger.error('stop failed', { error: String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  await hooks.start();
}

/** Runs a configuration parser; on failure prints it (or the help) and exits. */
export function configOrExit<T>(name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    return exitOnError(name)(err);
  }
}

/** Prints a start-up failure as one line and exits non-zero (or the help text, exiting 0). */
export function exitOnError(name: string): (err: unknown) => never {
  return (err: unknown) => {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      process.exit(0);
    }
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  };
}
