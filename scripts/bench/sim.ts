import { join } from 'node:path';
import { startProcess, type StartedProcess } from '@ur/testkit';
import { ROOT } from './processes.js';

export interface SimulatedNodes {
  ids: string[];
  /** The child processes, each running a share of the nodes (and their ur-spawn helpers). */
  pids: number[];
  stop(): Promise<void>;
}

/**
 * Simulated nodes per child process. fork() copies the parent's page tables,
 * so a spawn costs more the larger the process: ~1 ms from a 50 MB process,
 * ~5 ms from 300 MB, ~15 ms from 1 GB (measured here). A real node's agent is
 * one small process; a thousand agents in one heap would make every
 * `/bin/true` several times dearer than on any real node, so the fleet is
 * split into processes of about the size of a few real agents.
 */
const NODES_PER_PROCESS = Number(process.env.UR_BENCH_NODES_PER_PROCESS ?? 100);

/** Starts `count` simulated nodes in child processes and waits until all have announced. */
export async function startSimulatedNodes(o: {
  url: string;
  exchange: string;
  count: number;
  prefix: string;
  idPrefix: string;
}): Promise<SimulatedNodes> {
  const children: { process: StartedProcess; count: number }[] = [];
  for (let first = 0; first < o.count; first += NODES_PER_PROCESS) {
    const count = Math.min(NODES_PER_PROCESS, o.count - first);
    children.push({
      count,
      process: startProcess(
        join(ROOT, 'node_modules/.bin/tsx'),
        [
          join(ROOT, 'scripts/bench/sim-nodes.ts'),
          '--url',
          o.url,
          '--exchange',
          o.exchange,
          '--first',
          String(first),
          '--count',
          String(count),
          '--prefix',
          o.prefix,
          '--id-prefix',
          o.idPrefix,
        ],
        {},
      ),
    });
  }
  try {
    await Promise.all(children.map((c) => c.process.waitForOutput(`READY ${c.count}`, 180_000)));
  } catch (err) {
    // A half-started fleet would keep hundreds of connections open after the bench gives up.
    for (const c of children) c.process.child.kill('SIGKILL');
    throw err;
  }
  const stopOne = async ({ process: p }: { process: StartedProcess }): Promise<void> => {
    p.child.kill('SIGTERM');
    // Unref'd: a timer left over after a clean exit would hold the bench open for a minute.
    await Promise.race([p.exited, new Promise((r) => setTimeout(r, 60_000).unref())]);
    if (p.child.exitCode === null) p.child.kill('SIGKILL');
  };
  return {
    ids: Array.from({ length: o.count }, (_, i) => `${o.idPrefix}-${i}`),
    pids: children.map((c) => c.process.child.pid!),
    stop: async () => {
      await Promise.all(children.map(stopOne));
    },
  };
}
