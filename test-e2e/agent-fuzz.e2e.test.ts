import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ErrorCode, ExecuteReply } from '@ur/protocol';
import {
  brokerUrl,
  freePort,
  startProcess,
  uniqueNodeId,
  waitFor,
  WireClient,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH } from './bins.js';

/**
 * At least 10,000 malformed or random messages on the agent's keys
 * (execute, ping, broadcast), generated from a seed so a failure can be
 * replayed: UR_FUZZ_SEED=<seed> scripts/test test-e2e/agent-fuzz.
 */
const SEED = Number(process.env.UR_FUZZ_SEED ?? 20_240_611);
/** Enough that the journal passes its bound (10,000 ids) and is compacted meanwhile. */
const MESSAGES = 13_000;
const MAX_BODY = 256 * 1024;

/** mulberry32: small, fast, good enough to pick test inputs reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Case {
  routingKey: string;
  body: Buffer;
  /** Ur ignored bodies that were not application/json; ours reads any. */
  contentType: string;
  /**
   * The reply it must get: an error code, `unknown-cancel` (a well-formed
   * cancel of an unknown id), `ping`/`sysinfo` (a broadcast), or none.
   */
  expect: ErrorCode | 'unknown-cancel' | 'ping' | 'sysinfo' | undefined;
}

function generator(node: string, seed: number): (i: number) => Case {
  const random = prng(seed);
  const int = (n: number): number => Math.floor(random() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const text = (n: number): string =>
    Array.from({ length: n }, () => String.fromCharCode(32 + int(95))).join('');
  const word = (n = 1 + int(12)): string =>
    Array.from({ length: n }, () => pick('abcdefghijklmnopqrstuvwxyz0123456789-_:'.split(''))).join('');
  const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
  const junkValues = [null, true, false, 0, -1, 1e308, '', 'x', [], [1, 'a'], {}, { a: { b: [] } }];
  const badIds = ['a.b', '*', '#', 'has space', '', 'x'.repeat(129), 'ü', 'ur.execute.n.r', '\u0000'];
  const valid = (): Record<string, unknown> => ({ type: 'script', script: 'exit 0' });
  /** Replaces one field of a valid script request with a value of the wrong type or range. */
  const mutations: (() => Record<string, unknown>)[] = [
    () => ({ ...valid(), script: pick([1, null, [], {}, true]) }),
    () => ({ ...valid(), args: pick(['a b', 1, {}, [1], [null], [[]]]) }),
    () => ({ ...valid(), env: pick(['A=1', 1, [], { A: 1 }, { A: null }, { A: ['x'] }, { A: {} }]) }),
    () => ({ ...valid(), cwd: pick(['', 1, null, []]) }),
    () => ({ ...valid(), stdin: pick([1, null, {}, []]) }),
    () => ({ ...valid(), timeout: pick([0, -1, -1e9, 1e12, 1e308, '10', null, [], {}]) }),
    () => ({ ...valid(), stream: pick(['yes', 1, null, {}]) }),
    () => ({ type: 'file', file: pick(['', 1, null, []]) }),
    () => ({ type: 'file' }),
    () => ({ type: 'script' }),
  ];

  return (i: number): Case => {
    const id = `fz-${i}`;
    const execute = `ur.execute.${node}.${id}`;
    const contentType = pick(['application/json', 'text/plain', '', 'application/octet-stream']);
    const roll = int(100);
    const c = (routingKey: string, body: Buffer, expect: Case['expect']): Case => ({
      routingKey,
      body,
      contentType,
      expect,
    });
    if (roll < 10) {
      const bytes = Buffer.from(Array.from({ length: int(200) }, () => int(256)));
      bytes[int(bytes.length + 1)] = 0xff; // never valid UTF-8
      return c(execute, bytes, 'INVALID_JSON');
    }
    if (roll < 20) {
      const full = JSON.stringify({ ...valid(), args: [text(int(20))], env: { K: text(5) } });
      return c(execute, Buffer.from(full.slice(0, int(full.length))), 'INVALID_JSON');
    }
    if (roll < 28)
      return c(execute, json(pick(junkValues.filter((v) => !isPlainObject(v)))), 'INVALID_REQUEST');
    if (roll < 33) return c(execute, json({ script: 'exit 0', args: [] }), 'INVALID_REQUEST');
    if (roll < 43) {
      const type = pick([word(), 1, null, true, [], {}, 'constructor', '__proto__', 'toString', 'SCRIPT']);
      return c(execute, json({ type, script: 'exit 0' }), 'UNKNOWN_TYPE');
    }
    if (roll < 70) return c(execute, json(pick(mutations)()), 'INVALID_REQUEST');
    if (roll < 76) return c(execute, json({ type: 'cancel', request_id: pick(badIds) }), 'INVALID_ID');
    if (roll < 80) return c(execute, json({ type: 'cancel', request_id: word() }), 'unknown-cancel');
    if (roll < 81) return c(execute, Buffer.alloc(MAX_BODY + 1 + int(64 * 1024), 0x20), 'BODY_TOO_LARGE');
    if (roll < 82) {
      // Not one routing-key word: the broker routes it nowhere.
      return c(`ur.execute.${node}.${word()}.${word()}`, json(valid()), undefined);
    }
    if (roll < 92) {
      const body = pick([
        () => Buffer.from(text(int(50))),
        () => json({ client_id: pick(badIds), id: text(5) }),
        () => json({ client_id: word(), id: pick(junkValues) }),
        () => json(pick(junkValues)),
      ])();
      return c(`ur.ping.${node}`, body, undefined);
    }
    const what = pick(['ping', 'sysinfo', word(), word()]);
    // Any body; the agent answers the broadcasts it knows on its reply key.
    const answer = what === 'ping' || what === 'sysinfo' ? what : undefined;
    return c(`ur.broadcast.${what}.${id}`, Buffer.from(text(int(100))), answer);
  };
}

function isPlainObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

interface StatusDocument {
  connection: string;
  memory: { rss_bytes: number; heap_used_bytes: number };
  journal: { entries: number; records: number };
}

let dir: string;
let agent: StartedProcess;
let client: WireClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-fuzz-'));
  client = await WireClient.connect(brokerUrl());
});

afterAll(async () => {
  await agent?.stop();
  await client.close();
  await rm(dir, { recursive: true, force: true });
});

describe(`ur-agent under ${MESSAGES} malformed messages (seed ${SEED})`, () => {
  it('answers each with its error code where it can, stays up with bounded memory, and still works', async () => {
    const node = uniqueNodeId('fuzz');
    const port = await freePort();
    await client.listen(`ur.execute-reply.${node}.*`);
    agent = startProcess(
      'node',
      [
        ...AGENT_LAUNCH,
        '--node-id',
        node,
        '--prefix',
        join(dir, node),
        '--status-port',
        String(port),
        '--max-body',
        String(MAX_BODY),
        '--log-level',
        'info',
      ],
      { UR_AMQP_URL: brokerUrl() },
    );
    await waitFor('agent up', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/status`);
      return ((await response.json()) as StatusDocument).connection === 'connected';
    });
    const status = async (): Promise<StatusDocument> =>
      (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as StatusDocument;

    const make = generator(node, SEED);
    const cases = Array.from({ length: MESSAGES }, (_, i) => make(i));
    const expected = new Map<string, Case['expect']>();
    const send = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        const c = cases[i]!;
        if (c.expect !== undefined) expected.set(c.routingKey.split('.').at(-1)!, c.expect);
        client.publish(c.routingKey, c.body, { contentType: c.contentType });
        if (i % 200 === 0) await new Promise((r) => setImmediate(r));
      }
    };
    const answered = (): number =>
      client.messages.filter((m) => m.routingKey.startsWith(`ur.execute-reply.${node}.fz-`)).length;

    // Warm up (validators compiled, buffers grown), then measure.
    const warmUp = 1_000;
    await send(0, warmUp);
    await waitFor('warm-up answered', () => answered() >= expected.size, 60_000, 100);
    const before = (await status()).memory;
    await send(warmUp, MESSAGES);
    await waitFor('every execute message answered', () => answered() >= expected.size, 120_000, 200);
    const after = await status();
    expect(agent.child.exitCode).toBeNull();

    const replies = new Map<string, ExecuteReply>();
    for (const m of client.messages) {
      if (m.routingKey.startsWith(`ur.execute-reply.${node}.fz-`)) {
        replies.set(m.routingKey.split('.').at(-1)!, m.body as ExecuteReply);
      }
    }
    expect(replies.size).toBe(expected.size);
    const wrong: string[] = [];
    for (const [id, want] of expected) {
      const reply = replies.get(id)!;
      let got: boolean;
      if (want === 'unknown-cancel') {
        got =
          (reply.result as { state?: string } | undefined)?.state === 'unknown' && reply.error === undefined;
      } else if (want === 'ping') {
        got = reply.exit_status === 0;
      } else if (want === 'sysinfo') {
        got = (reply as unknown as { UUID?: string }).UUID === node;
      } else {
        got = reply.error?.code === want && reply.exit_status !== 0;
      }
      if (!got) wrong.push(`${id}: wanted ${want}, got ${JSON.stringify(reply.error ?? reply.result)}`);
    }
    expect(wrong.slice(0, 10)).toEqual([]);

    const grownMiB = (after.memory.rss_bytes - before.rss_bytes) / (1024 * 1024);
    console.info(
      `fuzz seed ${SEED}: ${MESSAGES} messages, ${expected.size} replies; RSS ${Math.round(before.rss_bytes / 1048576)} → ` +
        `${Math.round(after.memory.rss_bytes / 1048576)} MiB, heap ${Math.round(before.heap_used_bytes / 1048576)} → ` +
        `${Math.round(after.memory.heap_used_bytes / 1048576)} MiB; journal ${after.journal.entries} ids, ${after.journal.records} records`,
    );
    expect(grownMiB).toBeLessThan(100);
    // The journal stayed bounded: compacted to its newest 10,000 ids (plus what came after).
    expect(agent.output()).toContain('journal compacted');
    expect(after.journal.entries).toBeLessThan(expected.size);
    expect(after.journal.records).toBeLessThan(2 * 10_000);

    // Messages with no reply key leave a log line instead.
    expect(agent.output()).toContain('ignoring malformed ping');
    const ok = await client.execute(node, { type: 'script', script: 'echo still serving' });
    expect((ok.body as ExecuteReply).stdout).toBe('still serving\n');
  });
});
