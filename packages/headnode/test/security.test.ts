import { randomUUID } from 'node:crypto';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Headnode } from '@ur/headnode';
import {
  generateSigningKey,
  isNodeEvent,
  MessageSigner,
  parsePrivateKey,
  parsePublicKey,
  signedBy,
  type CommandRecord,
  type ErrorBody,
  type ExecuteResponse,
  type NodeDetail,
  type NodeEvent,
} from '@ur/protocol';
import {
  brokerUrl,
  deleteBrokerObjects,
  recordingLogger,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
} from '@ur/testkit';

const exchange = uniqueExchange();
let dir: string;
let headnode: Headnode;
let wire: WireClient;
let commandKey: MessageSigner;
const events: NodeEvent[] = [];
const logLines: string[] = [];

const logger = recordingLogger(logLines);

const newSigner = (): MessageSigner =>
  new MessageSigner(parsePrivateKey(generateSigningKey().privateKeyPem), 60_000);

async function api<T>(path: string, options: { body?: unknown; method?: string; token?: string } = {}) {
  const headers: Record<string, string> = {};
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${headnode.url}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers,
    body: options.body === undefined ? null : JSON.stringify(options.body),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as T,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-headnode-security-'));
  const { privateKeyPem } = generateSigningKey();
  await writeFile(join(dir, 'signing.pem'), privateKeyPem, { mode: 0o600 });
  commandKey = new MessageSigner(parsePrivateKey(privateKeyPem), 45_000);
  wire = await WireClient.connect(brokerUrl(), exchange);
  headnode = new Headnode({
    amqpUrl: brokerUrl(),
    exchange,
    db: join(dir, 'headnode.db'),
    listen: '127.0.0.1:0',
    replyMarginMs: 300,
    signingKeyFile: join(dir, 'signing.pem'),
    signatureLifetimeMs: 45_000,
    logger,
  });
  await headnode.start();
  headnode.events.subscribe((e) => {
    if (isNodeEvent(e)) events.push(e);
  });
});

afterAll(async () => {
  await headnode.stop();
  await wire.close();
  await deleteBrokerObjects({ exchanges: [exchange], queues: [`ur.headnode.${exchange}`] });
  await rm(dir, { recursive: true, force: true });
});

/** What our agent announces, signed with `key` (the key named in it unless `named` says otherwise). */
function announce(
  id: string,
  key: MessageSigner | undefined,
  extra: Record<string, unknown> = {},
  named = key,
): void {
  const routingKey = `ur.startup.${id}`;
  const body = Buffer.from(
    JSON.stringify({
      UUID: id,
      Hostname: `host-${id}`,
      'Ur Agent': {
        version: '9.9.9',
        protocol: 1,
        capabilities: ['script'],
        heartbeat_interval_s: 5,
        verifies_requests: true,
        ...(named ? { public_key: named.publicKey.text } : {}),
      },
      ...extra,
    }),
  );
  wire.publish(routingKey, body, { headers: key ? key.headers(routingKey, body) : {} });
}

async function node(id: string): Promise<NodeDetail> {
  return (await api<NodeDetail>(`/v1/nodes/${id}`)).body;
}

const eventsOf = (id: string): NodeEvent[] => events.filter((e) => e.node_id === id);

/** Binds the wire client to a node's requests, as its agent would, and replies to them with `reply`. */
async function fakeAgent(id: string): Promise<void> {
  await wire.listen(`ur.execute.${id}.*`);
}

async function nextRequest(
  id: string,
  seen: number,
): Promise<{ requestId: string; body: unknown; headers: Record<string, unknown> }> {
  const m = await waitFor(
    'request',
    () => wire.messages.filter((x) => x.routingKey.startsWith(`ur.execute.${id}.`))[seen],
  );
  return {
    requestId: m.routingKey.split('.')[3]!,
    body: m.body,
    headers: m.properties.headers ?? {},
  };
}

function reply(id: string, requestId: string, body: unknown, key: MessageSigner | undefined): void {
  const routingKey = `ur.execute-reply.${id}.${requestId}`;
  const content = Buffer.from(JSON.stringify(body));
  wire.publish(routingKey, content, { headers: key ? key.headers(routingKey, content) : {} });
}

const okReply = (stdout: string) => ({ exit_status: 0, stdout, stderr: '' });

describe('signed commands', () => {
  it('signs every command for its routing key, and lets it wait in the queue no longer than the signature lives', async () => {
    const id = uniqueNodeId('signed');
    const agentKey = newSigner();
    announce(id, agentKey);
    await waitFor('registered', async () => (await api(`/v1/nodes/${id}`)).status === 200);
    await fakeAgent(id);
    const before = wire.messages.filter((x) => x.routingKey.startsWith(`ur.execute.${id}.`)).length;
    const pending = api<ExecuteResponse>(`/v1/nodes/${id}/execute`, {
      body: { type: 'script', script: 'true', timeout: 300 },
    });
    const request = await nextRequest(id, before);
    const message = wire.messages.find((m) => m.routingKey === `ur.execute.${id}.${request.requestId}`)!;
    expect(
      signedBy(
        { routingKey: message.routingKey, body: message.content, headers: request.headers },
        commandKey.publicKey,
      ),
    ).toBe('valid');
    expect(message.properties.expiration).toBe('45000');
    reply(id, request.requestId, okReply('fine\n'), agentKey);
    expect((await pending).body).toMatchObject({ exit_status: 0, stdout: 'fine\n' });
  });
});

describe('the signing key', () => {
  it('is refused when others can read it, before anything is opened', async () => {
    const loose = join(dir, 'loose.pem');
    await writeFile(loose, generateSigningKey().privateKeyPem, { mode: 0o644 });
    await chmod(loose, 0o644);
    const other = new Headnode({ db: join(dir, 'never.db'), listen: '127.0.0.1:0', signingKeyFile: loose });
    await expect(other.start()).rejects.toThrow(/open to others \(mode 644\).*chmod 600/);
    await expect(access(join(dir, 'never.db'))).rejects.toThrow();
  });
});

describe('agent keys: trust on first use', () => {
  it('pins the first key a node announces, and refuses facts signed by another until an admin trusts it', async () => {
    const id = uniqueNodeId('tofu');
    const first = newSigner();
    announce(id, first);
    await waitFor(
      'pinned',
      async () => (await api<NodeDetail>(`/v1/nodes/${id}`)).body?.key_status === 'pinned',
    );
    expect(await node(id)).toMatchObject({ public_key: first.publicKey.text, request_signing: 'enforced' });

    // Reinstalled (or an impostor): a new key, proven by signing with it.
    const second = newSigner();
    announce(id, second, { Hostname: 'renamed' });
    await waitFor('flagged', async () => (await node(id)).key_status === 'mismatch');
    expect(await node(id)).toMatchObject({
      hostname: `host-${id}`,
      public_key: first.publicKey.text,
      offered_key: second.publicKey.text,
    });
    // Unsigned, or signed by a key it does not name: not recorded either.
    announce(id, undefined, { Hostname: 'unsigned' });
    announce(id, newSigner(), { Hostname: 'forged' }, first);
    // The genuine key still works meanwhile.
    announce(id, first, { Hostname: 'genuine' });
    await waitFor('genuine facts', async () => (await node(id)).hostname === 'genuine');
    await headnode.events.settle();
    const mismatches = eventsOf(id).filter((e) => e.type === 'node.key_mismatch');
    expect(mismatches).toHaveLength(1);
    expect(mismatches[0]!.data).toMatchObject({
      pinned_key: first.publicKey.text,
      offered_key: second.publicKey.text,
    });
    expect(
      logLines.some((l) => l.startsWith('warn message not signed by the node key') && l.includes(id)),
    ).toBe(true);

    const trusted = await api<NodeDetail>(`/v1/nodes/${id}/trust`, { method: 'POST' });
    expect(trusted).toMatchObject({
      status: 200,
      body: { key_status: 'pinned', public_key: second.publicKey.text, offered_key: null },
    });
    announce(id, second, { Hostname: 'reinstalled' });
    await waitFor('new key accepted', async () => (await node(id)).hostname === 'reinstalled');

    const forgotten = await api<NodeDetail>(`/v1/nodes/${id}/forget`, { method: 'POST' });
    expect(forgotten.body).toMatchObject({ key_status: 'none', public_key: null });
    const third = newSigner();
    announce(id, third, { Hostname: 'third' });
    await waitFor('pinned again', async () => (await node(id)).public_key === third.publicKey.text);
    await headnode.events.settle();
    expect(
      eventsOf(id)
        .map((e) => e.type)
        .filter((t) => t.startsWith('node.key')),
    ).toEqual([
      'node.key_pinned',
      'node.key_mismatch',
      'node.key_pinned',
      'node.key_forgotten',
      'node.key_pinned',
    ]);
    expect((await api<ErrorBody>(`/v1/nodes/${id}/trust`, { method: 'POST' })).body.code).toBe(
      'NO_OFFERED_KEY',
    );
  });

  it("fails a command at once with 502 NODE_KEY_MISMATCH when its reply is not signed by the node's key, and ignores replayed refusals", async () => {
    const id = uniqueNodeId('replykey');
    const agentKey = newSigner();
    announce(id, agentKey);
    await waitFor(
      'pinned',
      async () => (await api<NodeDetail>(`/v1/nodes/${id}`)).body?.key_status === 'pinned',
    );
    await fakeAgent(id);

    const forged = api<ErrorBody>(`/v1/nodes/${id}/execute`, {
      body: { type: 'script', script: 'true', timeout: 30 },
    });
    const first = await nextRequest(id, 0);
    reply(id, first.requestId, okReply('forged\n'), newSigner());
    const answer = await forged;
    expect(answer.status).toBe(502);
    expect(answer.body.code).toBe('NODE_KEY_MISMATCH');
    const record = await api<CommandRecord>(`/v1/commands/${first.requestId}`);
    expect(record.body.reply).toBeNull();

    const genuine = api<ExecuteResponse>(`/v1/nodes/${id}/execute`, {
      body: { type: 'script', script: 'true', timeout: 30 },
    });
    const second = await nextRequest(id, 1);
    // Someone re-published the request: the agent's REPLAYED refusal is not the answer.
    reply(
      id,
      second.requestId,
      { ...okReply(''), exit_status: 1, error: { code: 'REPLAYED', message: 'seen' } },
      agentKey,
    );
    reply(id, second.requestId, okReply('genuine\n'), agentKey);
    expect((await genuine).body).toMatchObject({ exit_status: 0, stdout: 'genuine\n' });
  });
});

describe('replies to commands no caller here waits for', () => {
  it('judges and records a reply to a command the store holds as sent; drops, unjudged, one to a request no headnode issued', async () => {
    const id = uniqueNodeId('orphanreply');
    const agentKey = newSigner();
    announce(id, agentKey);
    await waitFor('pinned', async () => (await node(id))?.key_status === 'pinned');

    // Someone else's broadcast: no headnode issued it, so its signature is never looked at.
    const stranger = randomUUID();
    reply(id, stranger, okReply('not ours\n'), newSigner());
    await waitFor('dropped', () =>
      logLines.some(
        (l) => l.startsWith('debug reply to a request no headnode awaits') && l.includes(stranger),
      ),
    );
    expect((await node(id)).key_status).toBe('pinned');
    expect((await api(`/v1/commands/${stranger}`)).status).toBe(404);

    // Issued by another headnode (or one that restarted): only the store knows it.
    const requestId = randomUUID();
    await headnode.stores.commands.issue({
      requestId,
      nodeId: id,
      type: 'script',
      request: { type: 'script', script: 'true' },
      issuedBy: 'another-headnode',
      issuedAt: Date.now(),
      deadline: Date.now() + 60_000,
    });
    reply(id, requestId, okReply('forged\n'), newSigner());
    await waitFor('flagged', async () => (await node(id)).key_status === 'mismatch');
    reply(id, requestId, okReply('genuine\n'), agentKey);
    const recorded = await waitFor('recorded', async () => {
      const record = (await api<CommandRecord>(`/v1/commands/${requestId}`)).body;
      return record.reply !== null && record;
    });
    expect(recorded.reply).toMatchObject({ stdout: 'genuine\n' });
  });
});

describe('secrets', () => {
  it('never stores, logs or shows env values marked secret; the agent gets them', async () => {
    const id = uniqueNodeId('secret');
    const agentKey = newSigner();
    announce(id, agentKey);
    await waitFor('registered', async () => (await api(`/v1/nodes/${id}`)).status === 200);
    await fakeAgent(id);
    const secret = `s3cret-${uniqueNodeId('v')}`;
    const pending = api<ExecuteResponse>(`/v1/nodes/${id}/execute`, {
      body: {
        type: 'script',
        script: 'test "$DB_PASSWORD" = "$EXPECTED"',
        env: { DB_PASSWORD: secret, PLAIN: 'visible' },
        secret_env: ['DB_PASSWORD'],
      },
    });
    const request = await nextRequest(id, 0);
    expect(request.body).toMatchObject({ env: { DB_PASSWORD: secret } });
    reply(id, request.requestId, okReply(''), agentKey);
    expect((await pending).status).toBe(200);
    const recorded = await api<{ commands: unknown[] }>(`/v1/commands?node_id=${id}`);
    expect(JSON.stringify(recorded.body)).not.toContain(secret);
    // A single execute is a job of one node: the job keeps the command, redacted.
    const row = await headnode.stores.commands.get(request.requestId);
    const job = await headnode.stores.jobs.get(row!.job_id!);
    expect(JSON.parse(job!.command)).toMatchObject({ env: { DB_PASSWORD: '***', PLAIN: 'visible' } });
    const shown = await api<unknown>(`/v1/jobs/${row!.job_id!}`);
    expect(JSON.stringify(shown.body)).not.toContain(secret);
    expect(logLines.join('\n')).not.toContain(secret);
    expect(JSON.stringify(events)).not.toContain(secret);
  });
});

describe('API tokens', () => {
  let read: string;
  let operate: string;
  let admin: string;
  const id = uniqueNodeId('authz');

  beforeAll(async () => {
    announce(id, newSigner());
    await waitFor('registered', async () => (await api(`/v1/nodes/${id}`)).status === 200);
    expect((await api('/v1/nodes')).status).toBe(200); // open until the first token exists
    ({ token: read } = await headnode.stores.tokens.create('dashboard', 'read'));
    ({ token: operate } = await headnode.stores.tokens.create('ci', 'operate'));
    ({ token: admin } = await headnode.stores.tokens.create('ops', 'admin'));
  });

  it('needs a valid bearer token on every route but /v1/ping: 401 UNAUTHENTICATED otherwise', async () => {
    expect((await api('/v1/ping')).status).toBe(200);
    const missing = await api<ErrorBody>('/v1/nodes');
    expect(missing.status).toBe(401);
    expect(missing.body.code).toBe('UNAUTHENTICATED');
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = `${read.slice(0, -4)}${read.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    for (const token of [wrong, 'urt_000000000000_' + 'A'.repeat(43), 'nonsense']) {
      const answer = await api<ErrorBody>('/v1/nodes', { token });
      expect([token, answer.status, answer.body.code]).toEqual([token, 401, 'UNAUTHENTICATED']);
    }
    const basic = await fetch(`${headnode.url}/v1/nodes`, { headers: { authorization: 'Basic dXI6dXI=' } });
    expect(basic.status).toBe(401);
    expect((await api<ErrorBody>('/v1/no-such-route')).status).toBe(401);
    expect((await api<ErrorBody>('/v1/no-such-route', { token: read })).status).toBe(404);
    expect((await api('/v1/openapi.json', { token: read })).status).toBe(200);
  });

  it('lets read look but not execute or change anything: 403 FORBIDDEN', async () => {
    expect((await api(`/v1/nodes/${id}`, { token: read })).status).toBe(200);
    expect((await api('/v1/commands', { token: read })).status).toBe(200);
    const attempts: [string, string, unknown][] = [
      ['POST', `/v1/nodes/${id}/execute`, { type: 'script', script: 'true' }],
      ['PATCH', `/v1/nodes/${id}`, { labels: { role: 'web' } }],
      ['POST', `/v1/nodes/${id}/reservations/storage`, { name: 'vol', request_bytes: 1 }],
      ['DELETE', `/v1/nodes/${id}/reservations/storage/vol`, undefined],
      ['POST', '/v1/schedule/storage', { name: 'vol', request_bytes: 1 }],
      ['POST', `/v1/nodes/${id}/trust`, undefined],
      ['POST', `/v1/nodes/${id}/forget`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await api<ErrorBody>(path, { method, body, token: read });
      expect([method, path, answer.status, answer.body.code]).toEqual([method, path, 403, 'FORBIDDEN']);
      expect(answer.body.message).toMatch(/role read/);
    }
    expect((await api<NodeDetail>(`/v1/nodes/${id}`, { token: read })).body.labels).toEqual({});
  });

  it('lets operate change nodes but not their keys; admin does both', async () => {
    const labelled = await api<NodeDetail>(`/v1/nodes/${id}`, {
      method: 'PATCH',
      body: { labels: { role: 'web' } },
      token: operate,
    });
    expect(labelled.status).toBe(200);
    expect(
      (await api<ErrorBody>(`/v1/nodes/${id}/forget`, { method: 'POST', token: operate })).body.code,
    ).toBe('FORBIDDEN');
    expect((await api(`/v1/nodes/${id}/forget`, { method: 'POST', token: admin })).status).toBe(200);
  });

  it('refuses a revoked token, and never logs tokens', async () => {
    const { id: tokenId, token } = await headnode.stores.tokens.create('temp', 'admin');
    expect((await api('/v1/nodes', { token })).status).toBe(200);
    expect(await headnode.stores.tokens.revoke(tokenId)).toBe(true);
    expect((await api<ErrorBody>('/v1/nodes', { token })).body.code).toBe('UNAUTHENTICATED');
    const all = logLines.join('\n');
    for (const t of [read, operate, admin, token]) expect(all).not.toContain(t.slice(17));
  });

  it('stores only a hash of each token', async () => {
    const { id: tokenId, token } = await headnode.stores.tokens.create('hashed', 'read');
    const rows = await headnode.stores.tokens.list();
    expect(JSON.stringify(rows)).not.toContain(token.slice(17));
    expect(rows.find((r) => r.id === tokenId)).toMatchObject({
      name: 'hashed',
      role: 'read',
      revoked_at: null,
    });
    expect(parsePublicKey(commandKey.publicKey.text).id).toBe(commandKey.publicKey.id);
  });
});
