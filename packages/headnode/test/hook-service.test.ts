import { randomUUID } from 'node:crypto';
import { EventBus, HookService, type EventStore, type HookStore } from '@ur/headnode';
import { silentLogger, type UrEvent } from '@ur/protocol';
import { waitFor } from '@ur/testkit';
import { Receiver } from './harness.js';
import { StoreFixtures } from './store-fixtures.js';

const fixtures = new StoreFixtures();
const receiver = new Receiver();
beforeAll(async () => {
  await fixtures.setUp();
  await receiver.listen();
});
afterAll(async () => {
  await receiver.close();
  await fixtures.tearDown();
});

interface Running {
  events: EventStore;
  hookId: string;
  /** How often the service has read the hooks (once per pass). */
  passes: () => number;
  stop: () => Promise<void>;
}

/** A leader's hook service with one hook to the receiver; no poll comes within a test's time. */
async function running(concurrency: number): Promise<Running> {
  const { location } = await fixtures.fresh('sqlite');
  const { events, hooks } = await fixtures.stores(location);
  const bus = new EventBus(events, silentLogger, { pollIntervalMs: 600_000 });
  events.onCommitted = () => bus.poke();
  await bus.start();
  const service = new HookService(hooks, events, silentLogger, {
    concurrency,
    timeoutMs: 5_000,
    retryForMs: 60_000,
    backoffMs: 100,
    maxBackoffMs: 1_000,
    userAgent: 'test',
    pollIntervalMs: 600_000,
    eventBatchMs: 25,
    isLeader: () => true,
  });
  const created = await service.create({ url: receiver.url, events: ['node.*'] });
  const passes = countLists(hooks);
  service.start(bus);
  return {
    events,
    hookId: created.id,
    passes,
    stop: async () => {
      await service.stop();
      await bus.stop();
    },
  };
}

function countLists(hooks: HookStore): () => number {
  let n = 0;
  const list = hooks.list.bind(hooks);
  hooks.list = () => {
    n += 1;
    return list();
  };
  return () => n;
}

/** Stores one node.ready per node, one transaction each (the bus wakes after every one). */
async function burst(events: EventStore, count: number): Promise<string[]> {
  const nodes = Array.from({ length: count }, () => `burst-${randomUUID()}`);
  for (const nodeId of nodes) {
    await events.transaction((trx) =>
      events.append(trx, [{ type: 'node.ready', at: Date.now(), node_id: nodeId, data: {} }]),
    );
  }
  return nodes;
}

function deliveredTo(hookId: string): string[] {
  return receiver.received
    .filter((r) => r.headers['x-ur-hook'] === hookId)
    .map((r) => (JSON.parse(r.body) as UrEvent & { node_id: string }).node_id)
    .sort();
}

describe('HookService', () => {
  it('delivers a burst of events after looking at the store once for it, not once per event', async () => {
    const s = await running(64);
    try {
      const nodes = await burst(s.events, 40);
      await waitFor('every delivery', () => deliveredTo(s.hookId).length >= nodes.length);
      expect(deliveredTo(s.hookId)).toEqual([...nodes].sort());
      // The pass at start, and one or a few for the burst (it may span batch windows).
      expect(s.passes()).toBeLessThan(10);
    } finally {
      await s.stop();
    }
  });

  it('keeps sending a backlog larger than its slots as sends finish, without waiting for the poll', async () => {
    const s = await running(2);
    try {
      const nodes = await burst(s.events, 12);
      await waitFor('every delivery', () => deliveredTo(s.hookId).length >= nodes.length);
      expect(deliveredTo(s.hookId)).toEqual([...nodes].sort());
    } finally {
      await s.stop();
    }
  });
});
