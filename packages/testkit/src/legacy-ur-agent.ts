import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';

/**
 * A stand-in for Triton's Ur agent, written from shared/ur-wire-protocol.md:
 * an exclusive auto-delete request queue, acks on receipt, unconfirmed
 * transient replies `{exit_status, stdout, stderr}`, no heartbeats, and a
 * sysinfo without our "Ur Agent" object. Lets tests check that our headnode
 * drives an agent that knows nothing of our additions.
 */
export class LegacyUrAgent {
  readonly nodeId: string;
  readonly #url: string;
  readonly #exchange: string;
  #connection: ChannelModel | undefined;
  #channel: Channel | undefined;
  #dir = '';

  constructor(url: string, nodeId: string, exchange = 'amq.topic') {
    this.#url = url;
    this.nodeId = nodeId;
    this.#exchange = exchange;
  }

  get sysinfo(): Record<string, unknown> {
    return {
      UUID: this.nodeId,
      Hostname: `legacy-${this.nodeId.slice(0, 8)}`,
      'System Type': 'SunOS',
      Setup: 'true',
      'Boot Time': '1409940000',
    };
  }

  async start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'legacy-ur-'));
    this.#connection = await amqplib.connect(this.#url, {
      clientProperties: { connection_name: `legacy-ur ${this.nodeId}` },
    });
    const ch = await this.#connection.createChannel();
    this.#channel = ch;
    const mac = '00:11:22:33:44:55';
    const { queue } = await ch.assertQueue(`ur.request.${this.nodeId}.${mac}`, {
      exclusive: true,
      autoDelete: true,
    });
    await ch.bindQueue(queue, this.#exchange, `ur.execute.${this.nodeId}.*`);
    await ch.bindQueue(queue, this.#exchange, 'ur.broadcast.*.*');
    await ch.prefetch(1);
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      void this.#handle(msg);
    });
    const ping = await ch.assertQueue(`ur.ping.${this.nodeId}`, { exclusive: true, autoDelete: true });
    await ch.bindQueue(ping.queue, this.#exchange, `ur.ping.${this.nodeId}`);
    await ch.consume(
      ping.queue,
      (msg) => {
        if (!msg) return;
        const { client_id, id } = JSON.parse(msg.content.toString()) as { client_id: string; id: unknown };
        this.#publish(`ur.ack${client_id}.${this.nodeId}`, {
          req_id: id,
          timestamp: new Date().toISOString(),
        });
      },
      { noAck: true },
    );
    this.#publish(`ur.startup.${this.nodeId}`, this.sysinfo);
    this.#publish(`ur.sysinfo.${this.nodeId}.${randomUUID()}`, this.sysinfo);
  }

  async stop(): Promise<void> {
    await this.#connection?.close().catch(() => undefined);
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }

  #publish(key: string, body: unknown): void {
    this.#channel?.publish(this.#exchange, key, Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
    });
  }

  async #handle(msg: ConsumeMessage): Promise<void> {
    if (msg.properties.contentType !== 'application/json') return;
    const parts = msg.fields.routingKey.split('.');
    const reqId = parts[3] ?? '';
    if (parts[1] === 'broadcast') {
      if (parts[2] === 'sysinfo') this.#publish(`ur.execute-reply.${this.nodeId}.${reqId}`, this.sysinfo);
      return;
    }
    let req: { type?: string; script?: string; file?: string; args?: string[]; env?: Record<string, string> };
    try {
      req = JSON.parse(msg.content.toString()) as typeof req;
    } catch {
      return; // Ur dropped its connection here; ignoring is the kinder approximation
    }
    let file = req.file;
    if (req.type === 'script') {
      file = join(this.#dir, reqId);
      await writeFile(file, req.script ?? '', { mode: 0o700 });
    } else if (req.type !== 'file') {
      return; // unknown types are silently ignored, as Ur did
    }
    const reply = await new Promise<{ exit_status: number | string; stdout: string; stderr: string }>(
      (resolve) => {
        execFile(file ?? '', req.args ?? [], { env: req.env ?? process.env }, (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT')
            resolve({ exit_status: 'ENOENT', stdout: '', stderr: '' });
          else
            resolve({ exit_status: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        });
      },
    );
    this.#publish(`ur.execute-reply.${this.nodeId}.${reqId}`, reply);
  }
}
