import { InventoryWriter, type CommandStore, type NodePatch, type NodeStore } from '@ur/headnode';
import { isJobEvent, silentLogger } from '@ur/protocol';
import { issued, job, StoreFixtures } from './store-fixtures.js';

const fixtures = new StoreFixtures();
beforeAll(() => fixtures.setUp());
afterAll(() => fixtures.tearDown());

/** A store whose transactions take as long as the test says, recording what each one wrote. */
class SlowStore {
  readonly batches: string[][] = [];
  #release: (() => void)[] = [];

  apply(patches: readonly NodePatch[]): Promise<void> {
    this.batches.push(patches.map((p) => p.id));
    return new Promise((resolve) => this.#release.push(resolve));
  }

  /** Commits the oldest open transaction. */
  commit(): void {
    this.#release.shift()?.();
  }
}

const patch = (id: string): NodePatch => ({ id, seenAt: Date.now(), status: 'ready', reason: 'test' });
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('InventoryWriter group commit', () => {
  it('writes an idle batch in the same turn, and gathers the next while one is in flight', async () => {
    const store = new SlowStore();
    const acked: string[] = [];
    const writer = new InventoryWriter(
      store as unknown as NodeStore,
      {} as CommandStore,
      'hn-test',
      silentLogger,
    );
    writer.record(patch('a'), () => acked.push('a'));
    writer.record(patch('b'), () => acked.push('b'));
    await turn();
    // No timer to wait for: what arrived in one turn is one transaction.
    expect(store.batches).toEqual([['a', 'b']]);

    writer.record(patch('c'), () => acked.push('c'));
    await turn();
    writer.record(patch('d'), () => acked.push('d'));
    await turn();
    // While the first is uncommitted, nothing else is written and nothing is acked.
    expect(store.batches).toHaveLength(1);
    expect(acked).toEqual([]);

    store.commit();
    await turn();
    await turn();
    expect(acked).toEqual(['a', 'b']);
    expect(store.batches).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);

    store.commit();
    await writer.flush();
    expect(acked).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('InventoryWriter with heartbeats (lazy patches)', () => {
  const writerOn = (store: SlowStore, lazyWaitMs: number): InventoryWriter =>
    new InventoryWriter(store as unknown as NodeStore, {} as CommandStore, 'hn-test', silentLogger, {
      lazyWaitMs,
    });

  it('lets heartbeats alone wait, and writes them with the next other patch at once', async () => {
    const store = new SlowStore();
    const writer = writerOn(store, 60_000);
    writer.record(patch('a'), undefined, true);
    await turn();
    writer.record(patch('b'), undefined, true);
    await turn();
    expect(store.batches).toEqual([]);
    writer.record(patch('c'));
    await turn();
    expect(store.batches).toEqual([['a', 'b', 'c']]);
    store.commit();
    await writer.flush();
  });

  it('writes heartbeats alone once they have waited lazyWaitMs', async () => {
    const store = new SlowStore();
    const writer = writerOn(store, 30);
    const acked: string[] = [];
    writer.record(patch('a'), () => acked.push('a'), true);
    await turn();
    expect(store.batches).toEqual([]);
    await new Promise((r) => setTimeout(r, 100));
    expect(store.batches).toEqual([['a']]);
    store.commit();
    await writer.flush();
    expect(acked).toEqual(['a']);
  });

  it('writes them at once when flushed (the headnode stopping)', async () => {
    const store = new SlowStore();
    const writer = writerOn(store, 60_000);
    writer.record(patch('a'), undefined, true);
    const flushed = writer.flush();
    await turn();
    expect(store.batches).toEqual([['a']]);
    store.commit();
    await flushed;
  });
});

describe('InventoryWriter with a store', () => {
  it('records progress that arrived before a reply no later than the reply, in order', async () => {
    const s = await fixtures.stores((await fixtures.fresh('sqlite')).location);
    const writer = new InventoryWriter(s.nodes, s.commands, 'hn-test', silentLogger);
    await s.jobs.create(job('j1', 100, { target: 'n1 n2', stream: true, owner: 'hn-test' }), [
      { nodeId: 'n1', requestId: 'r1' },
      { nodeId: 'n2', requestId: 'r2' },
    ]);
    await s.commands.issue(issued('r1', 'n1', 200));
    await s.commands.issue(issued('r2', 'n2', 200));
    const contact = (id: string): NodePatch => ({ id, seenAt: 300, status: 'ready', reason: 'replied' });
    // r1: everything in one batch; r2: progress in one batch, the reply in the next.
    writer.recordProgress('r1', 'accepted');
    writer.recordProgress('r1', 'running');
    writer.recordReply({ requestId: 'r1', body: { exit_status: 0, stdout: '', stderr: '' } }, contact('n1'));
    writer.recordProgress('r2', 'accepted');
    writer.recordProgress('r2', 'running');
    await writer.flush();
    writer.recordReply({ requestId: 'r2', body: { exit_status: 1, stdout: '', stderr: '' } }, contact('n2'));
    writer.recordProgress('r2', 'accepted'); // late and out of order: changes nothing
    await writer.flush();

    const events = (await s.events.after(0, 100)).filter(isJobEvent);
    for (const [nodeId, last] of [
      ['n1', 'job.node.succeeded'],
      ['n2', 'job.node.failed'],
    ]) {
      expect(events.filter((e) => 'node_id' in e && e.node_id === nodeId).map((e) => e.type)).toEqual([
        'job.node.sent',
        'job.node.accepted',
        'job.node.running',
        last,
      ]);
    }
  });
});
