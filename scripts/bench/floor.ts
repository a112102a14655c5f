import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { reapedChildrenCpuMs } from './proc-stats.js';
import { median, timeEach } from './stats.js';
import { closedLoop } from './wire.js';

/**
 * The physical floor on this machine: an AMQP round trip through the broker
 * and back (publish → consume → publish → consume, as a command and its reply
 * travel) and a bare process spawn. The agent cannot beat their sum.
 */
export interface FloorFigures {
  amqpRttMs: number;
  spawnMs: number;
  /**
   * CPU of one `/bin/sh -c 'exit 0'` started by a small process (a shell
   * loop: its fork, the exec, dynamic loading, exit). Every script costs at
   * least this much of a core, which caps commands per second at cores / this.
   */
  execCpuMs: number;
  /** Spawns of `/bin/sh -c 'exit 0'` per second from one event loop with 50 in flight. */
  spawnRps50: number;
}

/**
 * Starts `n` shells from one shell loop and returns the CPU per shell. Forked
 * from Node instead, each cost about three times as much here (6.3 against
 * 1.9-2.3 ms): the child pays for tearing down its copy of Node's address space.
 */
export async function execCpu(n: number): Promise<number> {
  // Nothing else this process started exits meanwhile, so the reaped
  // children's CPU is the loop's alone.
  const before = reapedChildrenCpuMs('self');
  const loop = `i=0; while [ $i -lt ${n} ]; do /bin/sh -c 'exit 0'; i=$((i + 1)); done`;
  await new Promise<void>((resolve, reject) =>
    spawn('/bin/sh', ['-c', loop], { stdio: 'ignore' })
      .once('error', reject)
      .once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`the exec loop exited with ${code}`)),
      ),
  );
  return (reapedChildrenCpuMs('self') - before) / n;
}

export async function measureFloor(url: string, samples: number): Promise<FloorFigures> {
  const connection = await amqplib.connect(url, { noDelay: true });
  const tag = randomBytes(4).toString('hex');
  try {
    const client = await connection.createChannel();
    const echo = await connection.createChannel();
    const requests = (await echo.assertQueue(`bench.floor.req.${tag}`, { exclusive: true })).queue;
    const replies = (await client.assertQueue(`bench.floor.rep.${tag}`, { exclusive: true })).queue;
    await echo.consume(requests, (m) => m && echo.sendToQueue(replies, m.content), { noAck: true });
    let waiting: (() => void) | undefined;
    await client.consume(replies, () => waiting?.(), { noAck: true });
    const body = Buffer.from('{"type":"script","script":"exit 0"}');
    const rtt = await timeEach(samples, async () => {
      const done = new Promise<void>((resolve) => (waiting = resolve));
      client.sendToQueue(requests, body);
      await done;
    });
    const spawnTimes = await timeEach(samples, async () => {
      await new Promise<void>((resolve) => spawn('/bin/sh', ['-c', 'exit 0']).once('exit', () => resolve()));
    });
    const execCpuMs = await execCpu(samples);
    const { perSecond: spawnRps50 } = await closedLoop(
      () =>
        new Promise<void>((resolve) => {
          const child = spawn('/bin/sh', ['-c', 'exit 0'], {
            stdio: ['ignore', 'pipe', 'pipe'],
            detached: true,
          });
          child.stdout.resume();
          child.stderr.resume();
          child.once('close', () => resolve());
        }),
      50,
      2_000,
    );
    return {
      amqpRttMs: median(rtt.slice(10)),
      spawnMs: median(spawnTimes.slice(10)),
      execCpuMs,
      spawnRps50,
    };
  } finally {
    await connection.close();
  }
}
