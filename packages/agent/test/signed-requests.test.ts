import { access, chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  generateSigningKey,
  MessageSigner,
  parsePrivateKey,
  parsePublicKey,
  SIGNATURE_HEADERS,
  signedBy,
  type ErrorCode,
  type ExecuteReply,
  type Sysinfo,
} from '@ur/protocol';
import { recordingLogger, uniqueNodeId, waitFor, type WireMessage } from '@ur/testkit';
import { replyOf, TestAgents } from './test-agents.js';

const t = new TestAgents();
beforeAll(() => t.setUp());
afterAll(() => t.tearDown());

const newSigner = (lifetimeMs = 60_000): MessageSigner =>
  new MessageSigner(parsePrivateKey(generateSigningKey().privateKeyPem), lifetimeMs);

const headnodeKey = newSigner();

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false,
  );

interface Signed {
  routingKey: string;
  body: Buffer;
  headers: Record<string, unknown>;
}

function sign(
  signer: MessageSigner,
  nodeId: string,
  requestId: string,
  request: unknown,
  now?: number,
): Signed {
  const routingKey = `ur.execute.${nodeId}.${requestId}`;
  const body = Buffer.from(JSON.stringify(request));
  return { routingKey, body, headers: signer.headers(routingKey, body, now) };
}

function publish(m: Signed, routingKey = m.routingKey): void {
  t.client.publish(routingKey, m.body, { headers: m.headers });
}

const repliesTo = (nodeId: string, requestId: string): WireMessage[] =>
  t.client.messages.filter((m) => m.routingKey === `ur.execute-reply.${nodeId}.${requestId}`);

async function replyTo(nodeId: string, requestId: string, nth = 1): Promise<ExecuteReply> {
  const replies = await waitFor(`reply ${nth} to ${requestId}`, () => {
    const found = repliesTo(nodeId, requestId);
    return found.length >= nth ? found : undefined;
  });
  return replyOf(replies[nth - 1]!);
}

describe('an agent with trusted keys', () => {
  it('runs a request signed by a trusted key, and signs its messages with the key it announces', async () => {
    const node = uniqueNodeId('signed');
    await t.client.listen(`ur.startup.${node}`);
    await t.client.listen(`ur.execute-reply.${node}.*`);
    const agent = await t.start(node, { trustedKeys: [headnodeKey.publicKey.text] });
    const startup = await t.client.waitFor('startup', (m) => m.routingKey === `ur.startup.${node}`);
    const info = (startup.body as Sysinfo)['Ur Agent'];
    expect(info?.verifies_requests).toBe(true);
    expect(info?.public_key).toMatch(/^ed25519:/);
    const agentKey = parsePublicKey(info!.public_key!);
    expect(
      signedBy(
        { routingKey: startup.routingKey, body: startup.content, headers: startup.properties.headers },
        agentKey,
      ),
    ).toBe('valid');
    expect(agent.status()).toMatchObject({
      requestSigning: 'enforced',
      trustedKeys: [headnodeKey.publicKey.id],
    });

    publish(sign(headnodeKey, node, 'ok-1', { type: 'script', script: 'echo signed' }));
    const reply = await replyTo(node, 'ok-1');
    expect(reply).toMatchObject({ exit_status: 0, stdout: 'signed\n' });
    const message = repliesTo(node, 'ok-1')[0]!;
    expect(
      signedBy(
        { routingKey: message.routingKey, body: message.content, headers: message.properties.headers },
        agentKey,
      ),
    ).toBe('valid');
  });

  it('refuses forged, altered, expired, replayed, wrong-node, unknown-key and unsigned requests, each with its code, running none', async () => {
    const lines: string[] = [];
    const a = await t.start(uniqueNodeId('sec-a'), {
      trustedKeys: [headnodeKey.publicKey.text],
      clockSkewMs: 1_000,
      logger: recordingLogger(lines),
    });
    const b = await t.start(uniqueNodeId('sec-b'), { trustedKeys: [headnodeKey.publicKey.text] });
    await t.client.listen(`ur.execute-reply.${a.nodeId}.*`);
    await t.client.listen(`ur.execute-reply.${b.nodeId}.*`);
    const marker = (name: string): string => join(t.dir, `${a.nodeId}-${name}.marker`);
    const touch = (name: string) => ({ type: 'script', script: `echo ran >> ${marker(name)}` });
    const stranger = newSigner();

    const forged = sign(stranger, a.nodeId, 'forged', touch('forged'));
    forged.headers[SIGNATURE_HEADERS.keyId] = headnodeKey.publicKey.id;
    const altered = sign(headnodeKey, a.nodeId, 'altered', { type: 'script', script: 'true' });
    altered.body = Buffer.from(JSON.stringify(touch('altered')));
    const cases: [string, Signed, ErrorCode, string?][] = [
      ['forged', forged, 'BAD_SIGNATURE'],
      ['altered', altered, 'BAD_SIGNATURE'],
      [
        'expired',
        sign(headnodeKey, a.nodeId, 'expired', touch('expired'), Date.now() - 62_000),
        'SIGNATURE_EXPIRED',
      ],
      ['unknown-key', sign(stranger, a.nodeId, 'unknown-key', touch('unknown-key')), 'UNKNOWN_KEY'],
      [
        'unsigned',
        { ...sign(headnodeKey, a.nodeId, 'unsigned', touch('unsigned')), headers: {} },
        'UNSIGNED',
      ],
      // Signed for node B, sent to node A.
      [
        'wrong-node',
        sign(headnodeKey, b.nodeId, 'wrong-node', touch('wrong-node')),
        'WRONG_NODE',
        `ur.execute.${a.nodeId}.wrong-node`,
      ],
    ];
    for (const [, m, , to] of cases) publish(m, to);
    for (const [name, , code] of cases) {
      const reply = await replyTo(a.nodeId, name);
      expect([name, reply.error?.code, reply.exit_status]).toEqual([name, code, 1]);
      expect(
        lines.some((l) => l.startsWith('warn request refused: not run') && l.includes(`"code":"${code}"`)),
      ).toBe(true);
    }

    // Replayed: the genuine request runs once; the same message published again is refused.
    const genuine = sign(headnodeKey, a.nodeId, 'replayed', touch('replayed'));
    publish(genuine);
    expect(await replyTo(a.nodeId, 'replayed')).toMatchObject({ exit_status: 0 });
    publish(genuine);
    expect((await replyTo(a.nodeId, 'replayed', 2)).error?.code).toBe('REPLAYED');

    for (const [name] of cases) expect([name, await exists(marker(name))]).toEqual([name, false]);
    expect(await readFile(marker('replayed'), 'utf8')).toBe('ran\n');
    // Nothing reached node B, the one it was signed for.
    expect(repliesTo(b.nodeId, 'wrong-node')).toHaveLength(0);

    // A refusal burns no request id: the genuine request with a refused id still runs.
    publish(sign(headnodeKey, a.nodeId, 'unsigned', touch('unsigned')));
    expect(await replyTo(a.nodeId, 'unsigned', 2)).toMatchObject({ exit_status: 0 });
    expect(await readFile(marker('unsigned'), 'utf8')).toBe('ran\n');
  });

  it('rotates keys: both run while both are trusted; once the old one is removed, its requests are refused', async () => {
    const oldKey = newSigner();
    const newKey = newSigner();
    const file = join(t.dir, 'trusted-keys');
    await writeFile(file, `# ur headnode keys\n${oldKey.publicKey.text}\n${newKey.publicKey.text}\n`);
    const agent = await t.start(uniqueNodeId('rotate'), { trustedKeysFile: file });
    const node = agent.nodeId;
    await t.client.listen(`ur.execute-reply.${node}.*`);
    publish(sign(oldKey, node, 'old-1', { type: 'script', script: 'echo old' }));
    publish(sign(newKey, node, 'new-1', { type: 'script', script: 'echo new' }));
    expect((await replyTo(node, 'old-1')).stdout).toBe('old\n');
    expect((await replyTo(node, 'new-1')).stdout).toBe('new\n');

    await writeFile(file, `${newKey.publicKey.text}\n`);
    await agent.reloadTrustedKeys();
    expect(agent.status().trustedKeys).toEqual([newKey.publicKey.id]);
    publish(sign(oldKey, node, 'old-2', { type: 'script', script: 'echo old' }));
    publish(sign(newKey, node, 'new-2', { type: 'script', script: 'echo new' }));
    expect((await replyTo(node, 'old-2')).error?.code).toBe('UNKNOWN_KEY');
    expect((await replyTo(node, 'new-2')).stdout).toBe('new\n');

    // A broken file on reload keeps the keys in force.
    await writeFile(file, 'ed25519:garbage\n');
    await agent.reloadTrustedKeys();
    expect(agent.status().trustedKeys).toEqual([newKey.publicKey.id]);
  });

  it('does not start with a trusted-keys file that names no key', async () => {
    const file = join(t.dir, 'empty-keys');
    await writeFile(file, '# nothing here\n');
    const agent = t.create(uniqueNodeId('nokeys'), { trustedKeysFile: file });
    await expect(agent.start()).rejects.toThrow(/names no key/);
  });
});

describe('compatible mode', () => {
  it('runs unsigned requests and says so loudly: log, sysinfo, status', async () => {
    const lines: string[] = [];
    const node = uniqueNodeId('compat');
    await t.client.listen(`ur.startup.${node}`);
    const agent = await t.start(node, { logger: recordingLogger(lines) });
    expect(lines.some((l) => l.startsWith('warn COMPATIBLE MODE') && l.includes('UNSIGNED'))).toBe(true);
    const startup = await t.client.waitFor('startup', (m) => m.routingKey === `ur.startup.${node}`);
    expect((startup.body as Sysinfo)['Ur Agent']).toMatchObject({ verifies_requests: false });
    expect(agent.status().requestSigning).toBe('off');
    const reply = await t.client.execute(node, { type: 'script', script: 'echo unsigned' });
    expect(replyOf(reply).stdout).toBe('unsigned\n');
  });
});

describe("the agent's own key", () => {
  it('is generated once, mode 0600, kept across restarts; a key others can read stops the start', async () => {
    const node = uniqueNodeId('key');
    const prefix = join(t.dir, `${node}-keyed`);
    const first = await t.start(node, { prefix });
    const keyFile = join(prefix, 'state', 'agent-key.pem');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const publicKey = first.status().publicKey;
    await first.stop();
    const second = await t.start(node, { prefix });
    expect(second.status().publicKey).toBe(publicKey);
    await second.stop();
    await chmod(keyFile, 0o644);
    await expect(t.create(node, { prefix }).start()).rejects.toThrow(
      /open to others \(mode 644\).*chmod 600/,
    );
  });
});

describe('fuzz: mutated signed requests on a real agent', () => {
  /** mulberry32, seeded (UR_FUZZ_SEED=<seed> to replay). */
  function prng(seed: number): () => number {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let x = s;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    };
  }
  const SEED = Number(process.env.UR_FUZZ_SEED ?? 424_242);
  const CASES = 1_200;

  it(`refuses each of ${CASES} mutated signed requests with the code its mutation calls for; none runs`, async () => {
    const random = prng(SEED);
    const int = (n: number): number => Math.floor(random() * n);
    const agent = await t.start(uniqueNodeId('fuzz'), { trustedKeys: [headnodeKey.publicKey.text] });
    const node = agent.nodeId;
    await t.client.listen(`ur.execute-reply.${node}.*`);
    const marker = join(t.dir, `${node}.marker`);
    const stranger = newSigner();
    const names = Object.values(SIGNATURE_HEADERS);
    const flip = (buf: Buffer): Buffer => {
      const copy = Buffer.from(buf);
      const i = int(copy.length);
      copy[i] = copy[i]! ^ (1 + int(255));
      return copy;
    };
    // Replays need requests that ran: a few genuine ones first (they only `exit 0`).
    const genuine: Signed[] = [];
    for (let i = 0; i < 20; i++) {
      const m = sign(headnodeKey, node, `ok-${i}`, { type: 'script', script: 'exit 0' });
      genuine.push(m);
      publish(m);
    }
    for (let i = 0; i < genuine.length; i++) await replyTo(node, `ok-${i}`);

    type Mutation = (id: string) => { m: Signed; to?: string; code: ErrorCode };
    const touch = { type: 'script', script: `echo ran >> ${marker}` };
    const base = (id: string): Signed => sign(headnodeKey, node, id, touch);
    const mutations: Mutation[] = [
      (id) => {
        const m = base(id);
        return { m: { ...m, body: flip(m.body) }, code: 'BAD_SIGNATURE' };
      },
      (id) => {
        const m = base(id);
        const sig = Buffer.from(m.headers[SIGNATURE_HEADERS.signature] as string, 'base64');
        m.headers[SIGNATURE_HEADERS.signature] = flip(sig).toString('base64');
        return { m, code: 'BAD_SIGNATURE' };
      },
      (id) => {
        const m = base(id);
        const field = [SIGNATURE_HEADERS.signedAt, SIGNATURE_HEADERS.expiresAt][int(2)]!;
        m.headers[field] = String(Number(m.headers[field]) + 1 + int(100_000));
        return { m, code: 'BAD_SIGNATURE' };
      },
      (id) => {
        const m = base(id);
        m.headers[SIGNATURE_HEADERS.routingKey] = `ur.execute.${node}.other-${id}`;
        return { m, code: 'BAD_SIGNATURE' };
      },
      (id) => {
        const m = base(id);
        delete m.headers[names[int(names.length)]!];
        return { m, code: 'BAD_SIGNATURE' };
      },
      (id) => {
        const m = base(id);
        m.headers[names[int(names.length)]!] = [1, '', 'zz', Buffer.from('a')][int(4)];
        return { m, code: 'BAD_SIGNATURE' };
      },
      (id) => {
        const m = base(id);
        m.headers[SIGNATURE_HEADERS.keyId] = flip(Buffer.from(headnodeKey.publicKey.id, 'hex')).toString(
          'hex',
        );
        return { m, code: 'UNKNOWN_KEY' };
      },
      (id) => ({ m: sign(stranger, node, id, touch), code: 'UNKNOWN_KEY' }),
      (id) => ({ m: { ...base(id), headers: {} }, code: 'UNSIGNED' }),
      (id) => ({ m: base(`orig-${id}`), to: `ur.execute.${node}.${id}`, code: 'WRONG_NODE' }),
      (id) => ({
        m: sign(headnodeKey, node, id, touch, Date.now() - 120_000 - int(1e6)),
        code: 'SIGNATURE_EXPIRED',
      }),
      (id) => ({
        m: sign(headnodeKey, node, id, touch, Date.now() + 120_000 + int(1e6)),
        code: 'SIGNATURE_EXPIRED',
      }),
    ];
    const expected = new Map<string, ErrorCode>();
    for (let i = 0; i < CASES; i++) {
      const id = `fz-${i}`;
      const { m, to, code } = mutations[int(mutations.length)]!(id);
      expected.set(id, code);
      publish(m, to);
    }
    // And every genuine request replayed once.
    for (const m of genuine) publish(m);

    const codes = new Map<string, number>();
    for (const [id, code] of expected) {
      const reply = await replyTo(node, id);
      expect([id, reply.error?.code]).toEqual([id, code]);
      codes.set(code, (codes.get(code) ?? 0) + 1);
    }
    for (let i = 0; i < genuine.length; i++) {
      expect((await replyTo(node, `ok-${i}`, 2)).error?.code).toBe('REPLAYED');
    }
    expect(await exists(marker)).toBe(false);
    expect(codes.size).toBe(5);
    // No refused request was journaled (a refusal burns no id); the genuine ones were.
    expect(agent.status().journal?.entries).toBe(genuine.length);
    console.info(`fuzz seed ${SEED}: ${[...codes].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  });
});
