import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, startProcess, type StartedProcess } from './processes.js';
import { rabbitmqctl } from './rabbitmqctl.js';

const exec = promisify(execFile);

export interface PrivateBrokerOptions {
  /** Lines of rabbitmq.conf. Default: a plain TCP listener on a free loopback port. */
  config?: (dir: string, port: number) => string[];
  /** Open-file limit for the node; RabbitMQ takes its socket limit from it. Default: inherited. */
  maxOpenFiles?: number;
  /** Short tag in the node name and directory. Default `urtest`. */
  tag?: string;
  /** How long to wait for the node to come up. Default 60 s. */
  startTimeoutMs?: number;
}

export interface PrivateBroker {
  nodeName: string;
  /** The AMQP port the node listens on. */
  port: number;
  /** The node's scratch directory (owned by the rabbitmq user). */
  dir: string;
  /** `amqp://guest:guest@localhost:<port>` for the default TCP listener. */
  url: string;
  process: StartedProcess;
  /** Stops this node (never the shared one) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a RabbitMQ node of its own from the local installation, for tests
 * and benchmarks that must restart a broker, change its listeners or raise
 * its limits without touching the shared one.
 */
export async function startPrivateBroker(options: PrivateBrokerOptions = {}): Promise<PrivateBroker> {
  const tag = options.tag ?? 'urtest';
  const nodeName = `${tag}-${randomBytes(4).toString('hex')}@localhost`;
  const dir = await mkdtemp(join(tmpdir(), `ur-${tag}-`));
  const [port, distPort] = [await freePort(), await freePort()];
  await writeFile(join(dir, 'plugins'), '[].\n');
  const config = options.config?.(dir, port) ?? [`listeners.tcp.default = 127.0.0.1:${port}`];
  await writeFile(join(dir, 'rabbitmq.conf'), [...config, ''].join('\n'));
  if (options.maxOpenFiles !== undefined) {
    // The wrapper's `su` resets the soft limit to the default but keeps the
    // hard one, so the limit is raised on both sides of the user switch: here
    // (hard) and in the env file the node's scripts source as rabbitmq (soft).
    await writeFile(join(dir, 'rabbitmq-env.conf'), `ulimit -n ${options.maxOpenFiles}\n`);
  }
  await mkdir(join(dir, 'mnesia'));
  await mkdir(join(dir, 'log'));
  // The packaged wrapper switches to the rabbitmq user, which must own the node's files.
  await chmod(dir, 0o755);
  await exec('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
  const env = {
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    ...(options.maxOpenFiles === undefined ? {} : { RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf') }),
  };
  const broker =
    options.maxOpenFiles === undefined
      ? startProcess('rabbitmq-server', [], env)
      : startProcess('sh', ['-c', `ulimit -n ${options.maxOpenFiles} && exec rabbitmq-server`], env);
  try {
    await broker.waitForOutput('Starting broker... completed', options.startTimeoutMs ?? 60_000);
  } catch (err) {
    await exec('rabbitmqctl', ['-n', nodeName, 'stop']).catch(() => undefined);
    broker.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    nodeName,
    port,
    dir,
    url: `amqp://guest:guest@localhost:${port}`,
    process: broker,
    stop: async () => {
      await exec('rabbitmqctl', ['-n', nodeName, 'stop']).catch(() => undefined);
      await broker.exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The socket limit a RabbitMQ node reports (the test broker by default), or undefined if rabbitmqctl cannot tell. */
export async function brokerSocketLimit(nodeName?: string): Promise<number | undefined> {
  try {
    const stdout = await rabbitmqctl([
      ...(nodeName ? ['-n', nodeName] : []),
      'status',
      '--formatter',
      'json',
    ]);
    const status = JSON.parse(stdout) as { file_descriptors?: { sockets_limit?: number } };
    return status.file_descriptors?.sockets_limit;
  } catch {
    return undefined;
  }
}
