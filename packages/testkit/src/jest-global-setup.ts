// Jest loads this file outside its module mapper, so it imports only packages.
import { existsSync } from 'node:fs';
import { connect } from 'node:net';

const LOCAL_BROKER_URL = 'amqp://guest:guest@127.0.0.1:5672';
/** How long a container runtime gets to answer before the tests use the local broker. */
const RUNTIME_PROBE_TIMEOUT_MS = 3_000;

interface StoppableContainer {
  stop(): Promise<unknown>;
}

declare global {
  var __urRabbitContainer: StoppableContainer | undefined;
}

/**
 * Chooses the broker for the whole test run, in this order: AMQP_URL if set;
 * a RabbitMQ container (testcontainers) if a container runtime answers within
 * a few seconds; else the local broker. Workers inherit AMQP_URL.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.AMQP_URL !== undefined) {
    await requireReachable(process.env.AMQP_URL, 'AMQP_URL');
    return;
  }
  if (await containerRuntimeAvailable()) {
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
    const container = await new RabbitMQContainer('rabbitmq:3-management').start();
    globalThis.__urRabbitContainer = container;
    process.env.AMQP_URL = container.getAmqpUrl();
    process.env.UR_TEST_RABBITMQ_CONTAINER = container.getId();
    return;
  }
  process.env.AMQP_URL = LOCAL_BROKER_URL;
  await requireReachable(LOCAL_BROKER_URL, 'the local broker');
}

/**
 * True if a Docker-compatible runtime answers quickly. Without DOCKER_HOST
 * or a socket there is nothing to ask, so machines without Docker pay nothing.
 */
async function containerRuntimeAvailable(): Promise<boolean> {
  const sockets = ['/var/run/docker.sock', `${process.env.HOME ?? ''}/.docker/run/docker.sock`];
  if (process.env.DOCKER_HOST === undefined && !sockets.some((p) => existsSync(p))) return false;
  const { getContainerRuntimeClient } = await import('testcontainers');
  const probe = getContainerRuntimeClient().then(
    () => true,
    () => false,
  );
  const timeout = new Promise<boolean>((resolve) =>
    setTimeout(() => resolve(false), RUNTIME_PROBE_TIMEOUT_MS).unref(),
  );
  return Promise.race([probe, timeout]);
}

function isReachable(url: string, timeoutMs = 1_000): Promise<boolean> {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === 'amqps:' ? 5671 : 5672));
  return new Promise((resolve) => {
    const socket = connect({ host: u.hostname, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function requireReachable(url: string, what: string): Promise<void> {
  if (!(await isReachable(url))) {
    throw new Error(
      `${what} (${new URL(url).host}) is not reachable and no container runtime answered; ` +
        'start RabbitMQ (scripts/test does) or set AMQP_URL',
    );
  }
}
