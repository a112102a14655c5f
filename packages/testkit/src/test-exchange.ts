import { randomBytes } from 'node:crypto';
import amqplib from 'amqplib';
import { brokerUrl } from './broker-url.js';

/** A fresh exchange name per test file, so parallel test files never see each other's messages. */
export function uniqueExchange(prefix = 'ur.test'): string {
  return `${prefix}.${randomBytes(4).toString('hex')}`;
}

/** A unique node id (no dots) for tests sharing a broker. */
export function uniqueNodeId(prefix = 'node'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** Deletes exchanges and queues a test created. */
export async function deleteBrokerObjects(objects: {
  exchanges?: string[];
  queues?: string[];
}): Promise<void> {
  const connection = await amqplib.connect(brokerUrl());
  try {
    const ch = await connection.createChannel();
    for (const q of objects.queues ?? []) await ch.deleteQueue(q);
    for (const e of objects.exchanges ?? []) await ch.deleteExchange(e);
  } finally {
    await connection.close();
  }
}
