import { spawn } from 'node:child_process';
import { execCpu } from '../floor.js';
import { cpuSeconds, reapedChildrenCpuMs } from '../proc-stats.js';

/** Runs a child that keeps a core busy for `ms`, and waits for it to be reaped. */
function busyChild(ms: number): Promise<void> {
  const script = `const until = Date.now() + ${ms}; let x = 0; while (Date.now() < until) x += Math.sqrt(x + 1);`;
  return new Promise((resolve, reject) =>
    spawn(process.execPath, ['-e', script], { stdio: 'ignore' })
      .once('error', reject)
      .once('exit', () => resolve()),
  );
}

describe('reapedChildrenCpuMs', () => {
  it("counts a reaped child's CPU, not this process's own", async () => {
    const before = reapedChildrenCpuMs('self');
    const ownBefore = cpuSeconds(process.pid);
    await busyChild(300);
    const reaped = reapedChildrenCpuMs('self') - before;
    // 300 ms of busy loop plus Node's start-up; ticks are 10 ms and the machine is shared.
    expect(reaped).toBeGreaterThanOrEqual(200);
    // This process waited meanwhile: far less than the child spent.
    expect((cpuSeconds(process.pid) - ownBefore) * 1000).toBeLessThan(reaped);
  });
});

describe('execCpu', () => {
  it('measures what the shells of a shell loop cost, each', async () => {
    const perExec = await execCpu(100);
    // An exec costs well under a millisecond on a fast machine and a few on this
    // VM; zero would mean the loop's CPU was not counted.
    expect(perExec).toBeGreaterThan(0);
    expect(perExec).toBeLessThan(50);
  });
});
