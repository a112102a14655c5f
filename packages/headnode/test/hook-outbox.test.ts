import { HookOutbox, type HookRow } from '@ur/headnode';
import { silentLogger } from '@ur/protocol';
import { StoreFixtures } from './store-fixtures.js';

const fixtures = new StoreFixtures();
beforeAll(() => fixtures.setUp());
afterAll(() => fixtures.tearDown());

describe('HookOutbox', () => {
  it('reads no events without hooks, and gives each hook every matching event after its creation', async () => {
    const { location } = await fixtures.fresh('sqlite');
    const { events, hooks } = await fixtures.stores(location);
    const outbox = new HookOutbox(events, hooks, silentLogger);
    const ready = (nodeId: string) =>
      events.transaction((trx) =>
        events.append(trx, [{ type: 'node.ready', at: Date.now(), node_id: nodeId, data: {} }]),
      );
    const addHook = async (id: string): Promise<HookRow> => {
      const row: HookRow = {
        id,
        url: `http://127.0.0.1:1/${id}`,
        events: JSON.stringify(['node.*']),
        secret: 'secret',
        description: null,
        created_at: Date.now(),
        after_event_id: await events.lastId(),
      };
      await hooks.create(row);
      return row;
    };
    const eventIds = async (hookId: string) =>
      (await hooks.due(hookId, 100, Date.now() + 1_000)).map((d) => Number(d.event_id));

    await ready('before-any-hook');
    expect(await outbox.run([])).toBe(0);
    expect(await hooks.cursor()).toBeUndefined();

    const first = await addHook('first');
    await ready('n1');
    await ready('n2');
    const between = await events.lastId();
    // Not run in between: the later hook's start must not hide the earlier hook's events.
    const second = await addHook('second');
    await ready('n3');
    const last = await events.lastId();

    expect(await outbox.run([first, second])).toBe(4);
    expect(await eventIds('first')).toEqual([between - 1, between, last]);
    expect(await eventIds('second')).toEqual([last]);
    expect(await hooks.cursor()).toBe(last);
    expect(await outbox.run([first, second])).toBe(0);
  });
});
