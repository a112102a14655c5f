import { randomBytes } from 'node:crypto';
import amqplib, { type Message } from 'amqplib';
import { AckBatcher, type AckChannel } from '@ur/amqp';
import { brokerUrl, deleteBrokerObjects, waitFor } from '@ur/testkit';

const message = (deliveryTag: number): Message => ({ fields: { deliveryTag } }) as Message;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A channel that writes down what it was asked to send. */
function recordingChannel(): { channel: AckChannel; sent: string[] } {
  const sent: string[] = [];
  const channel: AckChannel = {
    ack: (m, allUpTo) => void sent.push(`ack ${m.fields.deliveryTag}${allUpTo ? ' and before' : ''}`),
    nack: (m, _allUpTo, requeue) =>
      void sent.push(`nack ${m.fields.deliveryTag}${requeue ? ' requeue' : ''}`),
  };
  return { channel, sent };
}

describe('AckBatcher', () => {
  it('acks the settled front in one frame and the rest one by one, after the turn', async () => {
    const { channel, sent } = recordingChannel();
    const acks = new AckBatcher(channel);
    for (let tag = 1; tag <= 6; tag++) acks.delivered(message(tag));
    acks.ack(message(2));
    acks.ack(message(1));
    acks.ack(message(4));
    expect(sent).toEqual([]);
    await turn();
    expect(sent).toEqual(['ack 2 and before', 'ack 4']);
    // 3 and 5 settle: the front moves past 4 (acked before), naming 5 (never acked alone).
    acks.ack(message(5));
    acks.ack(message(3));
    await turn();
    expect(sent.slice(2)).toEqual(['ack 5 and before']);
    acks.ack(message(6));
    await turn();
    expect(sent.slice(3)).toEqual(['ack 6 and before']);
  });

  it('sends the acks asked for before a nack first, and never names a nacked tag again', async () => {
    const { channel, sent } = recordingChannel();
    const acks = new AckBatcher(channel);
    for (let tag = 1; tag <= 3; tag++) acks.delivered(message(tag));
    acks.ack(message(1));
    acks.nack(message(2));
    expect(sent).toEqual(['ack 1 and before', 'nack 2 requeue']);
    acks.ack(message(3));
    await turn();
    expect(sent.slice(2)).toEqual(['ack 3 and before']);
  });

  it('leaves nothing unacked on a real broker when messages settle out of order', async () => {
    const queue = `ur-test-acks-${randomBytes(3).toString('hex')}`;
    const connection = await amqplib.connect(brokerUrl());
    try {
      const ch = await connection.createChannel();
      const errors: unknown[] = [];
      ch.on('error', (err) => errors.push(err));
      await ch.assertQueue(queue, { durable: false });
      const total = 300;
      for (let i = 0; i < total; i++) ch.sendToQueue(queue, Buffer.from(String(i)));
      await ch.prefetch(total);
      const acks = new AckBatcher(ch);
      let settled = 0;
      await ch.consume(queue, (msg) => {
        if (!msg) return;
        acks.delivered(msg);
        const n = Number(msg.content.toString());
        // Every seventh waits a while, every fifth is rejected once, the rest settle at once.
        if (n % 5 === 0 && !msg.fields.redelivered) {
          acks.nack(msg);
          return;
        }
        const settle = (): void => {
          acks.ack(msg);
          settled++;
        };
        if (n % 7 === 0) setTimeout(settle, 5 + (n % 20));
        else settle();
      });
      await waitFor('all messages settled', () => settled === total);
      await turn();
      await ch.close();
      expect(errors).toEqual([]);
      const check = await connection.createChannel();
      // A message left unacked went back to the queue when its channel closed.
      expect((await check.checkQueue(queue)).messageCount).toBe(0);
      await check.close();
    } finally {
      await connection.close();
      await deleteBrokerObjects({ queues: [queue] });
    }
  });
});
