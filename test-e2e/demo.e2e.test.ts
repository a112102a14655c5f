import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brokerUrl, freePort } from '@ur/testkit';
import { ROOT, run } from './bins.js';

describe('scripts/demo', () => {
  it('shows both agents answering, then stops what it started', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ur-demo-'));
    try {
      const result = await run(join(ROOT, 'scripts/demo'), ['--no-wait'], {
        UR_DEMO_DIR: dir,
        UR_DEMO_PORT: String(await freePort()),
        UR_AMQP_URL: brokerUrl(),
      });
      // What the demo printed is what says why it failed.
      if (result.code !== 0) {
        throw new Error(
          `scripts/demo exited with ${result.code}\n--- stdout\n${result.stdout.slice(-4000)}\n--- stderr\n${result.stderr.slice(-4000)}`,
        );
      }
      const hellos = result.stdout.match(/^hello from .* as node demo\d+-node[12]$/gm) ?? [];
      expect(hellos).toHaveLength(2);
      // The demo signs its commands and its agents run only those.
      expect(result.stdout).toMatch(/demo\d+-node1\s+\S+\s+ready\s+.*enforced/);
      // The fan-out: live lines prefixed with each node, then the summary.
      expect(result.stdout).toMatch(/^demo\d+-node1: load: /m);
      expect(result.stdout).toMatch(/^demo\d+-node2: load: /m);
      expect(result.stdout).toMatch(/^2 nodes: 2 succeeded \(/m);
      expect(result.stdout).toMatch(/urctl exit status: 3/);
      expect(result.stderr).toMatch(/NODE_OFFLINE/);
      expect(result.stdout).toMatch(/urctl exit status: 69/);
      expect(result.stderr).toMatch(/stopping the agents and the headnode/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
