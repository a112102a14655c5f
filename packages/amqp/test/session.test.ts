import { randomBytes } from 'node:crypto';
import { AmqpSession, ConfirmPublisher, ensureExchange, jsonMessage } from '@ur/amqp';
import { silentLogger } from '@ur/protocol';
import { brokerUrl, closeConnections, deleteBrokerObjects, uniqueExchange, waitFor } from '@ur/testkit';

const exchange = uniqueExchange();
const name = `ur-test-session-${randomBytes(3).toString('hex')}`;
const queue = `${name}.q`;

afterAll(() => deleteBrokerObjects({ exchanges: [exchange], queues: [queue] }));

describe('AmqpSession', () => {
  it('reruns setup after the broker drops the connection, and publishes with confirms', async () => {
    let setups = 0;
    let publisher: ConfirmPublisher | undefined;
    const received: string[] = [];
    const session = new AmqpSession({
      url: brokerUrl(),
      connectionName: name,
      logger: silentLogger,
      reconnectMaxDelayMs: 200,
      setup: async (ctx) => {
        setups += 1;
        const ch = await ctx.confirmChannel();
        await ensureExchange(ch, exchange);
        await ch.assertQueue(queue, { durable: false });
        await ch.bindQueue(queue, exchange, 'bound.#');
        await ch.consume(queue, (m) => m && received.push(m.content.toString()), { noAck: true });
        publisher = new ConfirmPublisher(ch);
      },
    });
    await session.start();
    try {
      expect(session.connected).toBe(true);
      const msg = (body: unknown, mandatory: boolean) => jsonMessage(body, { appId: 'test', mandatory });
      expect(await publisher!.publish(exchange, 'bound.x', msg({ n: 1 }, true))).toBe('routed');
      expect(await publisher!.publish(exchange, 'nobody.listens', msg({ n: 2 }, true))).toBe('unroutable');

      expect(await closeConnections(name)).toBe(1);
      await waitFor('second setup', () => setups === 2 && session.connected);
      expect(await publisher!.publish(exchange, 'bound.y', msg({ n: 3 }, false))).toBe('routed');
      await waitFor('both delivered', () => received.length === 2);
      expect(received).toEqual(['{"n":1}', '{"n":3}']);
    } finally {
      await session.close();
    }
  });
});

describe('jsonMessage', () => {
  it('sets the properties the management UI shows', () => {
    const m = jsonMessage(
      { a: 1 },
      {
        appId: 'ur-agent/1',
        correlationId: 'r1',
        type: 'execute-reply',
        persistent: true,
        expirationMs: 1500.2,
      },
    );
    expect(m.content.toString()).toBe('{"a":1}');
    expect(m.options).toMatchObject({
      contentType: 'application/json',
      appId: 'ur-agent/1',
      correlationId: 'r1',
      type: 'execute-reply',
      persistent: true,
      expiration: '1501',
    });
    expect(typeof m.options.messageId).toBe('string');
    expect(m.options.timestamp).toBeGreaterThan(1_700_000_000);
  });
});
