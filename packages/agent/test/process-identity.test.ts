import { spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import {
  currentBootId,
  findOrphanGroup,
  groupMembers,
  killOrphanGroup,
  parseStat,
  processIdentity,
} from '../src/journal/process-identity.js';

const started: ChildProcess[] = [];
let bootId: string | undefined;

beforeAll(async () => {
  bootId = await currentBootId();
});

/** Starts `script` as the leader of its own process group, as the agent runs commands. */
function startGroup(script: string): ChildProcess {
  const child = spawn('/bin/sh', ['-c', script], { detached: true, stdio: 'ignore' });
  started.push(child);
  return child;
}

async function until(what: string, probe: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

afterAll(() => {
  for (const child of started) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

describe('parseStat', () => {
  it('counts fields from the last parenthesis, whatever the command name holds', () => {
    const text = '4242 (evil) (name x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10';
    expect(parseStat(text)).toEqual({ pid: 4242, state: 'S', pgrp: 4242, startTime: '987654' });
    expect(parseStat('garbage')).toBeUndefined();
  });
});

describe('orphaned process groups', () => {
  it('identifies a group by its leader’s start time and refuses a mismatch (a reused pid)', async () => {
    const leader = startGroup('sleep 30');
    const identity = processIdentity(leader.pid!, bootId);
    expect(identity).toMatchObject({ pgid: leader.pid });
    expect(await findOrphanGroup(identity!)).toBe('alive');
    expect(await findOrphanGroup({ ...identity!, startTime: String(BigInt(identity!.startTime) + 1n) })).toBe(
      'reused',
    );
    expect(await findOrphanGroup({ ...identity!, bootId: 'another-boot' })).toBe('reused');
    expect(await killOrphanGroup({ ...identity!, startTime: '1' }, 200)).toBe('reused');
    expect(leader.exitCode).toBeNull(); // left alone
    expect(await killOrphanGroup(identity!, 2_000)).toBe('killed');
    await until('leader gone', async () => (await groupMembers(leader.pid!, '0')).length === 0);
  });

  it('kills children that outlived their leader, and escalates to SIGKILL', async () => {
    const tag = randomInt(1_000_000);
    // The children ignore SIGTERM (inherited), the leader exits at once.
    const leader = startGroup(`trap '' TERM; sleep 1000.${tag} & sleep 1001.${tag} & exit 0`);
    const identity = processIdentity(leader.pid!, bootId);
    expect(identity).toBeDefined();
    await until('leader exited', () => leader.exitCode !== null);
    await until(
      'two children',
      async () => (await groupMembers(leader.pid!, identity!.startTime)).length === 2,
    );
    expect(await findOrphanGroup(identity!)).toBe('alive');
    expect(await killOrphanGroup(identity!, 300)).toBe('killed');
    await until(
      'children gone',
      async () => (await groupMembers(leader.pid!, identity!.startTime)).length === 0,
    );
    expect(await findOrphanGroup(identity!)).toBe('gone');
  });
});
