import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import amqplib from 'amqplib';
import {
  brokerUrl,
  closeConnections,
  connectionChannels,
  consumerCounts,
  deleteBrokerObjects,
  queueArguments,
  recordingLogger,
  uniqueNodeId,
  waitFor,
  type WireMessage,
} from '@ur/testkit';
import { replyOf, TestAgents } from './test-agents.js';

const t = new TestAgents();
beforeAll(() => t.setUp());
afterAll(() => t.tearDown());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('exactly one reply through broker connection loss', () => {
  it('answers 500 commands sent at a steady rate exactly once while the connection is closed 10+ times', async () => {
    const agent = await t.start();
    const node = agent.nodeId;
    const ranFile = join(t.dir, `${node}.ran`);
    await t.client.listen(`ur.execute-reply.${node}.*`);
    const ids = Array.from({ length: 500 }, (_, i) => `steady-${i}`);

    let publishing = true;
    const publisher = (async () => {
      for (const id of ids) {
        // As a Triton headnode sends them: transient, no confirms, no mandatory.
        t.client.publish(`ur.execute.${node}.${id}`, { type: 'script', script: `echo ${id} >> ${ranFile}` });
        await sleep(25);
      }
      publishing = false;
    })();
    let closes = 0;
    while (publishing || closes < 10) {
      await sleep(400);
      await waitFor('agent connected', () => agent.status().connected, 15_000);
      closes += await closeConnections(`ur-agent ${node}`);
    }
    await publisher;
    expect(closes).toBeGreaterThanOrEqual(10);

    const repliesById = new Map<string, WireMessage[]>();
    await waitFor(
      'a reply to every request',
      () => {
        repliesById.clear();
        for (const m of t.client.messages) {
          if (!m.routingKey.startsWith(`ur.execute-reply.${node}.`)) continue;
          const id = m.routingKey.split('.').at(-1)!;
          repliesById.set(id, [...(repliesById.get(id) ?? []), m]);
        }
        return repliesById.size === ids.length;
      },
      60_000,
      200,
    );
    for (const id of ids) {
      const replies = repliesById.get(id)!;
      // One reply per request id. A reply whose confirm was lost with the
      // connection may be delivered again, always with the same message id.
      expect([id, new Set(replies.map((r) => r.properties.messageId as string)).size]).toEqual([id, 1]);
      expect([id, replyOf(replies[0]!).exit_status]).toEqual([id, 0]);
    }
    const ran = (await readFile(ranFile, 'utf8')).trim().split('\n');
    expect(ran).toHaveLength(ids.length);
    expect(new Set(ran).size).toBe(ids.length);
    const redelivered = [...repliesById.values()].filter((r) => r.length > 1).length;
    console.info(
      `${closes} connection closes; ${redelivered} replies delivered more than once (same message id)`,
    );
  });

  it('has one connection, two channels and one consumer per queue after 20 reconnects', async () => {
    const node = uniqueNodeId();
    await t.client.listen(`ur.sysinfo.${node}.*`);
    const agent = await t.start(node);
    const announcements = (): number =>
      t.client.messages.filter((m) => m.routingKey.startsWith(`ur.sysinfo.${node}.`)).length;
    await waitFor('first announcement', () => announcements() === 1);
    for (let i = 1; i <= 20; i++) {
      expect(await closeConnections(`ur-agent ${node}`)).toBe(1);
      // The agent announces itself on every connect.
      await waitFor(`reconnect ${i}`, () => announcements() === i + 1, 15_000);
    }
    await waitFor('connected', () => agent.status().connected);
    const counts = await consumerCounts(node);
    expect(counts.get(agent.requestQueue)).toBe(1);
    expect(counts.get(agent.liveQueue)).toBe(1);
    expect(await connectionChannels(`ur-agent ${node}`)).toEqual([2]);
    const reply = await t.client.execute(node, { type: 'script', script: 'echo still here' });
    expect(replyOf(reply).stdout).toBe('still here\n');
  }, 180_000); // 20 rounds of rabbitmqctl (list, close), ~1 s each on a busy machine

  it('declares its request queue to dead-letter expired requests to ur.expired.<node>', async () => {
    const agent = await t.start();
    const node = agent.nodeId;
    const args = await queueArguments(agent.requestQueue);
    expect(args).toMatchObject({
      'x-dead-letter-exchange': t.exchange,
      'x-dead-letter-routing-key': `ur.expired.${node}`,
    });
    await agent.stop();
  });

  it('leaves an older agent’s request queue alone while that agent consumes it, then replaces it', async () => {
    const node = uniqueNodeId('upgrade');
    const queue = `ur.request.${node}`;
    const old = await amqplib.connect(brokerUrl());
    try {
      // As the previous version declared and consumed it: no dead-lettering.
      const oldChannel = await old.createChannel();
      await oldChannel.assertQueue(queue, { durable: true, expires: 600_000 });
      await oldChannel.bindQueue(queue, t.exchange, `ur.execute.${node}.*`);
      await oldChannel.consume(queue, () => undefined, { exclusive: true });
      const lines: string[] = [];
      const agent = t.create(node, { logger: recordingLogger(lines) });
      const started = agent.start();
      // While the old agent still consumes it, the queue is left alone.
      await waitFor('duplicate reported', () =>
        lines.some((l) => l.includes('another agent with this node id')),
      );
      expect(await queueArguments(queue)).not.toHaveProperty('x-dead-letter-routing-key');
      await old.close();

      // The old agent is gone: the new one replaces the queue and starts.
      await started;
      expect(await queueArguments(queue)).toMatchObject({
        'x-dead-letter-routing-key': `ur.expired.${node}`,
      });
      const after = await t.client.execute(node, { type: 'script', script: 'echo new queue' });
      expect(replyOf(after).stdout).toBe('new queue\n');
      await agent.stop();
    } finally {
      await old.close().catch(() => undefined);
      await deleteBrokerObjects({ queues: [queue] }).catch(() => undefined);
    }
  });

  it('runs the requests waiting in an older agent’s queue before replacing it', async () => {
    const node = uniqueNodeId('upgrade');
    const queue = `ur.request.${node}`;
    const connection = await amqplib.connect(brokerUrl());
    try {
      const ch = await connection.createChannel();
      await ch.assertQueue(queue, { durable: true, expires: 600_000 });
      await ch.bindQueue(queue, t.exchange, `ur.execute.${node}.*`);
      await t.client.listen(`ur.execute-reply.${node}.*`);
      t.client.publish(`ur.execute.${node}.left-behind`, {
        type: 'script',
        script: 'echo from the old queue',
      });
      await waitFor('request queued', async () => (await ch.checkQueue(queue)).messageCount === 1);
      const agent = await t.start(node);
      const reply = await t.client.waitFor(
        'reply',
        (m) => m.routingKey === `ur.execute-reply.${node}.left-behind`,
      );
      expect(replyOf(reply).stdout).toBe('from the old queue\n');
      expect(await queueArguments(queue)).toMatchObject({
        'x-dead-letter-routing-key': `ur.expired.${node}`,
      });
      await agent.stop();
    } finally {
      await connection.close();
      await deleteBrokerObjects({ queues: [queue] }).catch(() => undefined);
    }
  });
});
