import { createHmac } from 'node:crypto';
import {
  check,
  HookCreatedSchema,
  UrEventSchema,
  type ErrorBody,
  type HookCreated,
  type HookDeliveryList,
  type HookList,
  type UrEvent,
} from '@ur/protocol';
import { uniqueNodeId, waitFor } from '@ur/testkit';
import { Harness, Receiver, type Received } from './harness.js';

const h = new Harness();
const receivers: Receiver[] = [];
const SECRET = 'a-secret-of-some-length';

beforeAll(() =>
  h.setUp({ hookBackoffMs: 100, hookMaxBackoffMs: 300, hookTimeoutMs: 20_000, hookRetryForMs: 120_000 }),
);
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await h.tearDown();
});

async function receiver(): Promise<Receiver> {
  const r = new Receiver();
  receivers.push(r);
  await r.listen();
  return r;
}

async function addHook(url: string, events: string[], secret = SECRET): Promise<HookCreated> {
  const { status, body } = await h.api<HookCreated>('/v1/hooks', { url, events, secret });
  expect(status).toBe(201);
  return body;
}

/** Event ids a receiver got for these nodes, checking every signature and header on the way. */
function receivedFor(r: Receiver, nodes: string[], secret = SECRET): { id: string; type: string }[] {
  return r.received
    .map((got: Received) => {
      const event = JSON.parse(got.body) as UrEvent;
      expect(got.headers['x-ur-signature']).toBe(
        `sha256=${createHmac('sha256', secret).update(got.body).digest('hex')}`,
      );
      expect(got.headers['x-ur-event-id']).toBe(event.id);
      expect(got.headers['x-ur-event']).toBe(event.type);
      expect(got.headers['content-type']).toBe('application/json');
      expect(check(UrEventSchema, event).ok).toBe(true);
      return event;
    })
    .filter((e) => 'node_id' in e && nodes.includes(e.node_id))
    .map((e) => ({ id: e.id, type: e.type }));
}

const eventIdsOf = async (nodes: string[]): Promise<string[]> =>
  (await h.headnode.stores.events.after(0, 10_000))
    .filter((e) => 'node_id' in e && nodes.includes(e.node_id))
    .map((e) => e.id);

const deliveries = async (hookId: string) =>
  (await h.api<HookDeliveryList>(`/v1/hooks/${hookId}/deliveries`)).body.deliveries;

describe('webhooks', () => {
  it('delivers matching events, signed with HMAC-SHA256, each with its event id', async () => {
    const r = await receiver();
    const hook = await addHook(r.url, ['node.*']);
    expect(check(HookCreatedSchema, hook).ok).toBe(true);
    const other = await receiver();
    await addHook(other.url, ['job.completed']);
    const nodes = [uniqueNodeId('hook'), uniqueNodeId('hook')];
    for (const id of nodes) h.announce(id);
    const got = await waitFor('4 events delivered', () => {
      const events = receivedFor(r, nodes);
      return events.length >= 4 ? events : undefined;
    });
    expect(got.map((e) => e.type).sort()).toEqual([
      'node.ready',
      'node.ready',
      'node.registered',
      'node.registered',
    ]);
    expect(got.map((e) => e.id).sort()).toEqual((await eventIdsOf(nodes)).sort());
    expect(receivedFor(other, nodes)).toEqual([]);
    const recorded = await waitFor('recorded as delivered', async () => {
      const list = await deliveries(hook.id);
      return list.length >= 4 && list.every((d) => d.status === 'delivered') ? list : undefined;
    });
    expect(recorded[0]).toMatchObject({ attempts: 1, last_status: 204, last_error: null });
    // The secret is answered once, at creation.
    const { body } = await h.api<HookList>('/v1/hooks');
    expect(body.hooks.find((x) => x.id === hook.id)).not.toHaveProperty('secret');
  });

  it('retries while the receiver is down and delivers every event once it is up, under the same event id', async () => {
    const r = await receiver();
    await r.close();
    const hook = await addHook(r.url, ['node.*']);
    const nodes = [uniqueNodeId('down'), uniqueNodeId('down'), uniqueNodeId('down')];
    for (const id of nodes) h.announce(id);
    await waitFor(
      'failed attempts recorded',
      async () => {
        const list = await deliveries(hook.id);
        return list.length === 6 && list.every((d) => d.attempts >= 2 && d.status === 'pending')
          ? list
          : undefined;
      },
      15_000,
    );
    const failing = await deliveries(hook.id);
    expect(failing[0]?.last_error).toMatch(/ECONNREFUSED/);
    await r.listen();
    const got = await waitFor('all delivered after the receiver came back', () => {
      const events = receivedFor(r, nodes);
      return new Set(events.map((e) => e.id)).size === 6 ? events : undefined;
    });
    expect([...new Set(got.map((e) => e.id))].sort()).toEqual((await eventIdsOf(nodes)).sort());
    await waitFor('all recorded delivered', async () =>
      (await deliveries(hook.id)).every((d) => d.status === 'delivered'),
    );
  });

  it('does not let a receiver that hangs delay another', async () => {
    const stuck = await receiver();
    stuck.hang = true;
    const fine = await receiver();
    const stuckHook = await addHook(stuck.url, ['node.*']);
    await addHook(fine.url, ['node.*']);
    const nodes = [uniqueNodeId('slow'), uniqueNodeId('slow'), uniqueNodeId('slow')];
    const started = Date.now();
    for (const id of nodes) h.announce(id);
    await waitFor('the hanging receiver has requests open', () => receivedFor(stuck, nodes).length > 0);
    await waitFor('the other receiver has every event', () => receivedFor(fine, nodes).length === 6);
    // Well inside the 20 s the hanging attempts wait for an answer.
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await deliveries(stuckHook.id)).filter((d) => d.status === 'delivered')).toEqual([]);
    const { status } = await h.api(`/v1/hooks/${stuckHook.id}`, undefined, 'DELETE');
    expect(status).toBe(204);
    expect((await h.api<ErrorBody>(`/v1/hooks/${stuckHook.id}/deliveries`)).body.code).toBe('HOOK_NOT_FOUND');
  });

  it('keeps undelivered events in the store across a headnode restart', async () => {
    const r = await receiver();
    await r.close();
    const hook = await addHook(r.url, ['node.registered']);
    const node = uniqueNodeId('restart');
    h.announce(node);
    await waitFor('an attempt failed', async () => (await deliveries(hook.id)).some((d) => d.attempts > 0));
    await h.headnode.stop();
    await h.start();
    await r.listen();
    const got = await waitFor('delivered by the restarted headnode', () => {
      const events = receivedFor(r, [node]);
      return events.length > 0 ? events : undefined;
    });
    expect(got.map((e) => e.id)).toEqual(await eventIdsOf([node]).then((ids) => ids.slice(0, 1)));
    expect((await deliveries(hook.id))[0]).toMatchObject({ status: 'delivered' });
  });

  it('refuses a hook without events or with a bad pattern', async () => {
    expect((await h.api<ErrorBody>('/v1/hooks', { url: 'http://x/', events: [] })).status).toBe(400);
    expect((await h.api<ErrorBody>('/v1/hooks', { url: 'http://x/', events: ['node down'] })).status).toBe(
      400,
    );
    expect((await h.api<ErrorBody>('/v1/hooks', { url: 'ftp://x/', events: ['*'] })).status).toBe(400);
    const created = await h.api<HookCreated>('/v1/hooks', {
      url: 'http://127.0.0.1:9/',
      events: ['service.*'],
    });
    expect(created.body.secret.length).toBeGreaterThanOrEqual(32);
  });
});
