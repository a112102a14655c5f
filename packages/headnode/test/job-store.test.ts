import type { Dialect } from '@ur/headnode';
import { isJobEvent, type JobEvent, type UrEvent } from '@ur/protocol';
import { issued, job, StoreFixtures } from './store-fixtures.js';

const fixtures = new StoreFixtures();
beforeAll(() => fixtures.setUp());
afterAll(() => fixtures.tearDown());

const jobEvents = (events: UrEvent[]): string[] =>
  events.filter(isJobEvent).map((e: JobEvent) => ('node_id' in e ? `${e.type} ${e.node_id}` : e.type));

describe.each<Dialect>(['sqlite', 'postgres'])('jobs on %s', (dialect) => {
  it('keeps one row per node from creation to result, each change one event in the one event log', async () => {
    const s = await fixtures.stores((await fixtures.fresh(dialect)).location);
    await s.nodes.apply([{ id: 'n1', seenAt: 1, status: 'ready', reason: 'announced' }]);
    await s.jobs.create(job('j1', 100), [
      { nodeId: 'n1', requestId: 'r1' },
      { nodeId: 'n2', requestId: 'r2' },
      { nodeId: 'n3', requestId: 'r3', offline: 'node n3 is down' },
    ]);
    expect((await s.jobs.counts(['j1'])).get('j1')).toMatchObject({ pending: 2, offline: 1 });

    await s.commands.issue(issued('r1', 'n1', 200));
    await s.commands.issue(issued('r2', 'n2', 200));
    // A second claim of the same row is refused: it must not be published twice.
    await expect(s.commands.issue(issued('r1', 'n1', 210))).rejects.toThrow(/is sent, not pending/);
    expect(await s.commands.progress('r1', 'running', 250)).toBe(true);
    expect(await s.commands.progress('r1', 'accepted', 251)).toBe(false); // never back
    const reply = { exit_status: 0, stdout: 'ok\n', stderr: '' };
    const failed = { exit_status: 2, stdout: '', stderr: 'no\n' };
    const record = (requestId: string, body: unknown) =>
      s.nodes.apply([], (trx) => s.commands.recordReplies(trx, [{ requestId, body }], 'hn-b', 300));
    expect(await record('r1', reply)).toEqual(['r1']);
    expect(await record('r1', reply)).toEqual([]); // a duplicate delivery records nothing
    expect(await s.jobs.complete('j1')).toBeUndefined(); // r2 still in flight
    expect(await record('r2', failed)).toEqual(['r2']);
    const done = await s.jobs.complete('j1', 400);
    expect(done).toMatchObject({ state: 'failed', finished_at: 400 });
    expect(await s.jobs.complete('j1')).toBeUndefined();

    const rows = await s.jobs.nodes('j1');
    expect(rows.map((r) => [r.node_id, r.state, r.status])).toEqual([
      ['n1', 'succeeded', 'done'],
      ['n2', 'failed', 'done'],
      ['n3', 'offline', 'offline'],
    ]);
    const events = await s.events.after(0, 100);
    expect(jobEvents(events)).toEqual([
      'job.created',
      'job.node.offline n3',
      'job.node.sent n1',
      'job.node.sent n2',
      'job.node.running n1',
      'job.node.succeeded n1',
      'job.node.failed n2',
      'job.completed',
    ]);
    // Node events and job events share one increasing id sequence.
    const ids = events.map((e) => Number(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(events[0]?.type).toBe('node.registered');
    expect(await s.events.forJob('j1', Number(events.at(-3)?.id), 10)).toHaveLength(2);
  });

  it('cancels and skips only what was not sent, and refuses to send a cancelled row', async () => {
    const s = await fixtures.stores((await fixtures.fresh(dialect)).location);
    await s.jobs.create(job('j1', 100), [
      { nodeId: 'a', requestId: 'ra' },
      { nodeId: 'b', requestId: 'rb' },
      { nodeId: 'c', requestId: 'rc' },
    ]);
    await s.commands.issue(issued('ra', 'a', 200));
    const cancelled = await s.jobs.cancel('j1', 'tester', 300);
    expect(cancelled).toMatchObject({ state: 'running', cancel_requested_at: 300 });
    expect((await s.jobs.cancel('j1', 'tester', 301))?.cancel_requested_at).toBe(300);
    await expect(s.commands.issue(issued('rb', 'b', 310))).rejects.toThrow(/is cancelled, not pending/);
    expect((await s.jobs.counts(['j1'])).get('j1')).toMatchObject({ sent: 1, cancelled: 2 });
    const cancelReply = {
      exit_status: 143,
      stdout: '',
      stderr: '',
      error: { code: 'CANCELLED', message: 'x' },
    };
    await s.nodes.apply([], (trx) =>
      s.commands.recordReplies(trx, [{ requestId: 'ra', body: cancelReply }], 'h'),
    );
    expect(await s.jobs.complete('j1', 400)).toMatchObject({ state: 'cancelled' });
    expect(await s.jobs.cancel('nope', 'tester')).toBeUndefined();

    await s.jobs.create(job('j2', 500, { maxErrors: '1' }), [
      { nodeId: 'a', requestId: 'r2a' },
      { nodeId: 'b', requestId: 'r2b' },
    ]);
    expect(await s.jobs.stopDispatching('j2', '1 node failed (max_errors 1)')).toBe(2);
    expect((await s.jobs.get('j2'))?.stopped_reason).toBe('1 node failed (max_errors 1)');
    expect((await s.jobs.nodes('j2')).map((r) => [r.state, r.detail])).toEqual([
      ['skipped', 'not sent: 1 node failed (max_errors 1)'],
      ['skipped', 'not sent: 1 node failed (max_errors 1)'],
    ]);
  });

  it('puts a claimed row back to pending, and times out rows past their deadline with one event each', async () => {
    const s = await fixtures.stores((await fixtures.fresh(dialect)).location);
    await s.jobs.create(job('j1', 100), [{ nodeId: 'a', requestId: 'ra' }]);
    await s.commands.issue(issued('ra', 'a', 200));
    expect(await s.commands.unclaim('ra')).toBe(true);
    expect((await s.commands.get('ra'))?.state).toBe('pending');
    await s.commands.issue(issued('ra', 'a', 300));
    expect(await s.commands.sweep('hn-b', 1_000, 300 + 70_000)).toBe(0);
    expect(await s.commands.sweep('hn-b', 1_000, 300 + 72_000)).toBe(1);
    expect(await s.commands.sweep('hn-b', 1_000, 300 + 73_000)).toBe(0);
    expect(jobEvents(await s.events.after(0, 100))).toEqual([
      'job.created',
      'job.node.sent a',
      'job.node.pending a',
      'job.node.sent a',
      'job.node.timed_out a',
    ]);
  });

  it('renews owners, hands orphaned jobs to one other headnode, and releases on stop', async () => {
    const s = await fixtures.stores((await fixtures.fresh(dialect)).location);
    await s.jobs.create(job('j1', 1_000), [{ nodeId: 'a', requestId: 'ra' }]);
    await s.jobs.create(job('j2', 1_000, { owner: 'hn-b' }), [{ nodeId: 'a', requestId: 'rb' }]);
    expect([...(await s.jobs.renew('hn-a', 2_000))]).toEqual(['j1']);
    expect((await s.jobs.orphans(5_000, 6_500)).map((j) => j.id)).toEqual(['j2']);
    const [orphan] = await s.jobs.orphans(5_000, 6_500);
    const first = await s.jobs.adopt(orphan!, 'hn-c', 6_000);
    const second = await s.jobs.adopt(orphan!, 'hn-d', 6_001);
    expect(first).toMatchObject({ owner: 'hn-c' });
    expect(second).toBeUndefined();
    const resumed = (await s.events.after(0, 100)).filter((e) => e.type === 'job.resumed');
    expect(resumed.map((e) => e.data)).toEqual([
      { by: 'hn-c', previous_owner: 'hn-b', pending: 1, in_flight: 0 },
    ]);
    await s.jobs.release('hn-a', 7_000);
    expect((await s.jobs.orphans(5_000, 7_001)).map((j) => [j.id, j.owner])).toEqual([['j1', null]]);
  });

  it('prunes finished jobs by count and by age, with their node rows, never running ones', async () => {
    const s = await fixtures.stores((await fixtures.fresh(dialect)).location);
    for (let i = 0; i < 6; i++) {
      await s.jobs.create(job(`j${i}`, i * 1_000), [{ nodeId: 'a', requestId: `r${i}` }]);
      if (i < 5) {
        await s.jobs.endPending(`j${i}`, 'skipped', 'test');
        await s.jobs.complete(`j${i}`, i * 1_000 + 10);
      }
    }
    expect(await s.jobs.prune(3, 1_500)).toBe(2); // j0 by age, j1 by age; j2..j4 are the newest 3
    expect((await s.jobs.list({ limit: 10 })).jobs.map((j) => j.id)).toEqual(['j5', 'j4', 'j3', 'j2']);
    expect(await s.jobs.prune(1, 0)).toBe(2); // keeps j4 and the running j5
    expect((await s.jobs.list({ limit: 10 })).jobs.map((j) => j.id)).toEqual(['j5', 'j4']);
    expect(await s.commands.get('r0')).toBeUndefined();
    expect(await s.commands.get('r5')).toBeDefined();
  });

  it('lists jobs newest first by page, by state and by node', async () => {
    const s = await fixtures.stores((await fixtures.fresh(dialect)).location);
    for (let i = 0; i < 5; i++)
      await s.jobs.create(job(`j${i}`, 1_000 + i), [
        { nodeId: i % 2 === 0 ? 'even' : 'odd', requestId: `r${i}` },
      ]);
    const page1 = await s.jobs.list({ limit: 2 });
    expect(page1).toMatchObject({ next: 'j3' });
    expect(page1.jobs.map((j) => j.id)).toEqual(['j4', 'j3']);
    const page2 = await s.jobs.list({ limit: 2, before: page1.next ?? undefined });
    expect(page2.jobs.map((j) => j.id)).toEqual(['j2', 'j1']);
    expect((await s.jobs.list({ limit: 10, nodeId: 'odd' })).jobs.map((j) => j.id)).toEqual(['j3', 'j1']);
    expect((await s.jobs.list({ limit: 10, state: 'succeeded' })).jobs).toEqual([]);
  });
});
