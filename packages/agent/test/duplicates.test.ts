import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { recordingLogger, uniqueNodeId, waitFor } from '@ur/testkit';
import { replyOf, TestAgents } from './test-agents.js';

const t = new TestAgents();
beforeAll(() => t.setUp());
afterAll(() => t.tearDown());

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('duplicate request ids', () => {
  it('runs a request id once: a copy sent while it runs is ignored, one sent later gets the stored reply', async () => {
    const agent = await t.start();
    const node = agent.nodeId;
    const ranFile = join(t.dir, `${node}.ran`);
    await t.client.listen(`ur.execute-reply.${node}.*`);
    const body = { type: 'script', script: `echo ran >> ${ranFile}; sleep 0.5; echo out` };
    const replies = () => t.client.messages.filter((m) => m.routingKey === `ur.execute-reply.${node}.dup-1`);

    t.client.publish(`ur.execute.${node}.dup-1`, body);
    await waitFor('running', () => agent.status().running === 1);
    t.client.publish(`ur.execute.${node}.dup-1`, body); // while it runs
    await waitFor('first reply', () => replies().length === 1);
    await sleep(300);
    expect(replies()).toHaveLength(1);

    t.client.publish(`ur.execute.${node}.dup-1`, { type: 'script', script: 'echo something else' });
    await waitFor('reply sent again', () => replies().length === 2);
    const [first, again] = replies();
    expect(again!.body).toEqual(first!.body);
    expect(replyOf(again!).stdout).toBe('out\n');
    expect(again!.properties.messageId).toBe(first!.properties.messageId);
    expect(await readFile(ranFile, 'utf8')).toBe('ran\n');
  });

  it('sends the stored refusal again for a re-sent bad request', async () => {
    const agent = await t.start();
    const first = await t.client.execute(agent.nodeId, { type: 'nope' }, 'bad-1');
    t.client.messages.splice(t.client.messages.indexOf(first), 1);
    const again = await t.client.execute(agent.nodeId, { type: 'script', script: 'true' }, 'bad-1');
    expect(replyOf(again).error?.code).toBe('UNKNOWN_TYPE');
    expect(again.properties.messageId).toBe(first.properties.messageId);
  });
});

describe('duplicate node ids', () => {
  it('a second agent with a connected node id says so, runs nothing, and takes over once the first is gone', async () => {
    const node = uniqueNodeId('twin');
    const first = await t.start(node);
    const lines: string[] = [];
    const second = t.create(node, { prefix: join(t.dir, `${node}-second`), logger: recordingLogger(lines) });
    const secondStarted = second.start();
    await waitFor('duplicate reported', () =>
      lines.find(
        (l) => l.startsWith('error another agent with this node id is connected') && l.includes(node),
      ),
    );
    expect(second.status()).toMatchObject({
      connected: false,
      problem: expect.stringContaining(node) as string,
    });

    // Requests go to the first agent only.
    const reply = await t.client.execute(node, { type: 'script', script: 'echo one' }, 'twin-1');
    expect(replyOf(reply).stdout).toBe('one\n');
    expect(first.status().journal?.entries).toBe(1);
    expect(second.status().journal?.entries).toBe(0);

    await first.stop();
    await secondStarted;
    expect(second.status()).toMatchObject({ connection: 'connected', problem: undefined });
    const after = await t.client.execute(node, { type: 'script', script: 'echo two' }, 'twin-2');
    expect(replyOf(after).stdout).toBe('two\n');
    expect(second.status().journal?.entries).toBe(1);
  });

  it('refuses to share a prefix with another running agent', async () => {
    const node = uniqueNodeId();
    await t.start(node);
    await expect(t.create(uniqueNodeId(), { prefix: join(t.dir, node) }).start()).rejects.toThrow(
      /another ur-agent .* is using/,
    );
  });
});
