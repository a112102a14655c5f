import { randomInt } from 'node:crypto';
import type { Agent } from '@ur/agent';
import type { CancelResult } from '@ur/protocol';
import { waitFor } from '@ur/testkit';
import { processesMatching, replyOf, TestAgents } from './test-agents.js';

const t = new TestAgents();
let agent: Agent;

beforeAll(async () => {
  await t.setUp();
  agent = await t.start(undefined, { killGraceMs: 500 });
  await t.client.listen(`ur.execute-reply.${agent.nodeId}.*`);
});
afterAll(() => t.tearDown());

/** A script that starts two `sleep 1000` children (findable by a unique marker) and waits. */
function tree(extra = ''): { script: string; marker: string } {
  const marker = `1000.${randomInt(1_000_000)}`;
  return { script: `${extra}sleep ${marker} & sleep ${marker} & wait`, marker };
}

const replyTo = (id: string) =>
  t.client.waitFor(
    `reply to ${id}`,
    (m) => m.routingKey === `ur.execute-reply.${agent.nodeId}.${id}`,
    20_000,
  );

async function nothingLeft(marker: string): Promise<void> {
  await waitFor(`no process with ${marker}`, () => processesMatching(marker).length === 0, 5_000);
}

async function running(marker: string): Promise<void> {
  await waitFor(`two children with ${marker}`, () => processesMatching(marker).length === 2);
}

describe('timeout and cancel kill the whole process tree', () => {
  it('on timeout: SIGTERM to the group, timed_out and the signal in the reply', async () => {
    const { script, marker } = tree();
    const reply = replyOf(await t.client.execute(agent.nodeId, { type: 'script', script, timeout: 0.5 }));
    expect(reply).toMatchObject({ timed_out: true, signal: 'SIGTERM', error: { code: 'TIMED_OUT' } });
    await nothingLeft(marker);
  });

  it('on cancel: the request ends CANCELLED with its signal, the cancel request says cancelled', async () => {
    const { script, marker } = tree();
    t.client.publish(`ur.execute.${agent.nodeId}.victim-1`, { type: 'script', script });
    await running(marker);
    t.client.publish(`ur.execute.${agent.nodeId}.cancel-1`, { type: 'cancel', request_id: 'victim-1' });
    const [victim, cancel] = await Promise.all([replyTo('victim-1'), replyTo('cancel-1')]);
    expect(replyOf(victim)).toMatchObject({
      exit_status: 143,
      signal: 'SIGTERM',
      timed_out: false,
      error: { code: 'CANCELLED', message: 'cancelled by request cancel-1' },
    });
    expect(replyOf(cancel)).toMatchObject({
      exit_status: 0,
      result: { request_id: 'victim-1', state: 'cancelled' },
    });
    // The cancelled request's reply is stored (and sent) before the cancel's.
    expect(t.client.messages.indexOf(victim)).toBeLessThan(t.client.messages.indexOf(cancel));
    await nothingLeft(marker);
  });

  it('escalates to SIGKILL when the tree ignores SIGTERM', async () => {
    const { script, marker } = tree(`trap '' TERM; `);
    t.client.publish(`ur.execute.${agent.nodeId}.stubborn`, { type: 'script', script });
    await running(marker);
    t.client.publish(`ur.execute.${agent.nodeId}.cancel-2`, { type: 'cancel', request_id: 'stubborn' });
    const victim = replyOf(await replyTo('stubborn'));
    expect(victim).toMatchObject({ signal: 'SIGKILL', exit_status: 137, error: { code: 'CANCELLED' } });
    expect(replyOf(await replyTo('cancel-2')).result).toEqual({ request_id: 'stubborn', state: 'cancelled' });
    await nothingLeft(marker);
  });

  it('answers a cancel of a finished or unknown request without effect', async () => {
    await t.client.execute(agent.nodeId, { type: 'script', script: 'true' }, 'quick');
    const finished = replyOf(
      await t.client.execute(agent.nodeId, { type: 'cancel', request_id: 'quick' }, 'cancel-3'),
    );
    expect(finished.exit_status).toBe(1);
    expect(finished.result as CancelResult).toEqual({ request_id: 'quick', state: 'finished' });
    const unknown = replyOf(
      await t.client.execute(agent.nodeId, { type: 'cancel', request_id: 'never-sent' }, 'cancel-4'),
    );
    expect(unknown.result as CancelResult).toEqual({ request_id: 'never-sent', state: 'unknown' });
    expect(unknown.stderr).toMatch(/unknown/);
  });

  it.each([
    [{ type: 'cancel', request_id: 'a.b' }, 'INVALID_ID'],
    [{ type: 'cancel', request_id: '#' }, 'INVALID_ID'],
    [{ type: 'cancel' }, 'INVALID_REQUEST'],
    [{ type: 'cancel', request_id: 42 }, 'INVALID_REQUEST'],
  ])('refuses the cancel %j with %s', async (body, code) => {
    const reply = replyOf(await t.client.execute(agent.nodeId, body));
    expect(reply.error?.code).toBe(code);
  });

  it('refuses a cancel of itself', async () => {
    const reply = replyOf(
      await t.client.execute(agent.nodeId, { type: 'cancel', request_id: 'self' }, 'self'),
    );
    expect(reply.error?.code).toBe('INVALID_REQUEST');
    expect(reply.error?.message).toMatch(/itself/);
  });
});
