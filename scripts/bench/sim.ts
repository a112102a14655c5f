import { join } from 'node:path';
import { startProcess, type StartedProcess } from '@ur/testkit';
import { ROOT } from './processes.js';

export interface SimulatedNodes {
  ids: string[];
  stop(): Promise<void>;
}

/** Starts `count` simulated nodes in one child process and waits until all have announced. */
export async function startSimulatedNodes(o: {
  url: string;
  exchange: string;
  count: number;
  prefix: string;
  idPrefix: string;
}): Promise<SimulatedNodes> {
  const child: StartedProcess = startProcess(
    join(ROOT, 'node_modules/.bin/tsx'),
    [
      join(ROOT, 'scripts/bench/sim-nodes.ts'),
      '--url',
      o.url,
      '--exchange',
      o.exchange,
      '--count',
      String(o.count),
      '--prefix',
      o.prefix,
      '--id-prefix',
      o.idPrefix,
    ],
    {},
  );
  try {
    await child.waitForOutput(`READY ${o.count}`, 180_000);
  } catch (err) {
    // A half-started fleet would keep hundreds of connections open after the bench gives up.
    child.child.kill('SIGKILL');
    throw err;
  }
  return {
    ids: Array.from({ length: o.count }, (_, i) => `${o.idPrefix}-${i}`),
    stop: async () => {
      child.child.kill('SIGTERM');
      await Promise.race([child.exited, new Promise((r) => setTimeout(r, 60_000))]);
      if (child.child.exitCode === null) child.child.kill('SIGKILL');
    },
  };
}
