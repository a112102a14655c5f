import { InventoryWriter, type CommandStore, type NodePatch, type NodeStore } from '@ur/headnode';
import { silentLogger } from '@ur/protocol';

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
