import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { ago, runCli, type CliIo } from '@ur/cli';
import type { ExecuteResponse, NodeSummary } from '@ur/protocol';

type Route = (req: IncomingMessage, body: string) => { status: number; body: unknown };

/** A real HTTP server standing in for the headnode, answering what each test sets. */
let server: Server;
let base: string;
let route: Route = () => ({ status: 500, body: {} });
const requests: { method: string; url: string; body: string; authorization: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        body,
        authorization: req.headers.authorization,
      });
      const answer = route(req, body);
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  requests.length = 0;
});

async function urctl(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return urctlWith({}, ...argv);
}

async function urctlWith(
  env: Record<string, string | undefined>,
  ...argv: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: { UR_HEADNODE_URL: base, UR_CONFIG: '/nonexistent/urctl.json', ...env },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const node = (id: string, status: NodeSummary['status']): NodeSummary => ({
  id,
  hostname: `h-${id}`,
  status,
  status_since: new Date().toISOString(),
  status_reason: 'heartbeat',
  agent_version: '0.1.0',
  capabilities: ['script'],
  labels: {},
  os: 'linux',
  arch: 'x64',
  serial: null,
  bmc_address: null,
  cpu_milli: 2000,
  memory_bytes: 1024 ** 3,
  disk_bytes: null,
  console_port: null,
  first_seen: new Date().toISOString(),
  last_seen: new Date(Date.now() - 3_000).toISOString(),
  last_boot: null,
  request_signing: 'enforced',
  key_status: 'pinned',
});

const reply = (extra: Partial<ExecuteResponse>): ExecuteResponse => ({
  node_id: 'n1',
  request_id: 'r1',
  exit_status: 0,
  stdout: '',
  stderr: '',
  signal: null,
  duration_ms: 3,
  started_at: null,
  finished_at: null,
  stdout_bytes: 0,
  stderr_bytes: 0,
  stdout_truncated: false,
  stderr_truncated: false,
  timed_out: false,
  ...extra,
});

describe('urctl nodes', () => {
  it('prints a table of nodes', async () => {
    route = () => ({
      status: 200,
      body: { nodes: [node('n1', 'ready'), node('n2', 'down')], total: 2, next: null },
    });
    const { code, stdout } = await urctl('nodes');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+HOSTNAME\s+STATUS\s+LAST SEEN\s+AGENT\s+SIGNING\s+KEY$/);
    expect(lines[1]).toMatch(/^n1\s+h-n1\s+ready\s+3s ago\s+0\.1\.0\s+enforced\s+pinned$/);
    expect(lines[2]).toMatch(/^n2\s+h-n2\s+down/);
  });

  it('prints JSON with --json', async () => {
    route = () => ({ status: 200, body: { nodes: [node('n1', 'ready')], total: 1, next: null } });
    const { stdout } = await urctl('nodes', '--json');
    expect((JSON.parse(stdout) as NodeSummary[])[0]?.id).toBe('n1');
  });

  it('passes --where to the headnode and follows its pages', async () => {
    route = (req) => {
      const after = new URL(req.url ?? '', base).searchParams.get('after');
      return after === null
        ? { status: 200, body: { nodes: [node('n1', 'ready')], total: 2, next: 'n1' } }
        : { status: 200, body: { nodes: [node('n2', 'ready')], total: 2, next: null } };
    };
    const { code, stdout } = await urctl('nodes', '--json', '--where', 'status=ready label.role=web');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as NodeSummary[]).map((n) => n.id)).toEqual(['n1', 'n2']);
    expect(requests.map((r) => r.url)).toEqual([
      '/v1/nodes?where=status%3Dready+label.role%3Dweb',
      '/v1/nodes?where=status%3Dready+label.role%3Dweb&after=n1',
    ]);
  });

  it('refuses a selector that does not parse before asking the headnode', async () => {
    const { code, stderr } = await urctl('nodes', '--where', 'mem_mib>=lots');
    expect(code).toBe(64);
    expect(stderr).toBe('urctl: invalid selector "mem_mib>=lots" at 10: >= needs a number, found "lots"\n');
    expect(requests).toHaveLength(0);
  });

  it("turns the headnode's INVALID_SELECTOR into a usage status", async () => {
    route = () => ({ status: 400, body: { code: 'INVALID_SELECTOR', message: 'unknown key "memory"' } });
    const { code, stderr } = await urctl('nodes', '--where', 'memory>=1');
    expect(code).toBe(64);
    expect(stderr).toBe('urctl: INVALID_SELECTOR: unknown key "memory"\n');
  });

  it('sets and removes labels with `node label`', async () => {
    route = () => ({
      status: 200,
      body: {
        ...node('n1', 'ready'),
        labels: { role: 'web' },
        sysinfo: { UUID: 'n1' },
        last_heartbeat: null,
      },
    });
    const { code, stdout } = await urctl('node', 'label', 'n1', 'role=web', 'zone-');
    expect(code).toBe(0);
    expect(stdout).toBe('n1: role=web\n');
    expect(requests[0]).toMatchObject({ method: 'PATCH', url: '/v1/nodes/n1' });
    expect(JSON.parse(requests[0]!.body)).toEqual({ labels: { role: 'web', zone: null } });
    expect((await urctl('node', 'label', 'n1', 'oops')).code).toBe(64);
  });

  it('shows status transitions with `node transitions`', async () => {
    route = () => ({
      status: 200,
      body: {
        node_id: 'n1',
        transitions: [
          {
            event_id: '7',
            at: new Date().toISOString(),
            from: 'ready',
            to: 'suspect',
            reason: 'missed 2 heartbeats (interval 5 s)',
          },
          { event_id: '2', at: new Date().toISOString(), from: null, to: 'ready', reason: 'announced' },
        ],
      },
    });
    const { code, stdout } = await urctl('node', 'transitions', 'n1', '--limit', '5');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^AT\s+FROM\s+TO\s+REASON$/);
    expect(lines[1]).toMatch(/ready\s+suspect\s+missed 2 heartbeats \(interval 5 s\)$/);
    expect(lines[2]).toMatch(/-\s+ready\s+announced$/);
    expect(requests[0]?.url).toBe('/v1/nodes/n1/transitions?limit=5');
  });

  it('takes the headnode from --headnode over UR_HEADNODE_URL', async () => {
    const { code, stderr } = await urctl('--headnode', 'http://127.0.0.1:1', 'nodes');
    expect(code).toBe(69);
    expect(stderr).toMatch(/^urctl: cannot reach the headnode at http:\/\/127\.0\.0\.1:1/);
  });
});

describe('urctl exec', () => {
  it('sends the words after -- as the script and exits with its status', async () => {
    route = () => ({ status: 200, body: reply({ exit_status: 3, stdout: 'out\n', stderr: 'err\n' }) });
    const { code, stdout, stderr } = await urctl(
      'exec',
      '--node',
      'n1',
      '--timeout',
      '9',
      '--',
      'echo out;',
      'exit 3',
    );
    expect({ code, stdout, stderr }).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/v1/nodes/n1/execute' });
    expect(JSON.parse(requests[0]!.body)).toEqual({ type: 'script', script: 'echo out; exit 3', timeout: 9 });
  });

  it('runs a file with the words after -- as its arguments', async () => {
    route = () => ({ status: 200, body: reply({}) });
    await urctl('exec', '--node', 'n1', '--file', '/bin/df', '--', '-h', '/');
    expect(JSON.parse(requests[0]!.body)).toEqual({ type: 'file', file: '/bin/df', args: ['-h', '/'] });
  });

  it('prints the whole reply with --json', async () => {
    route = () => ({ status: 200, body: reply({ exit_status: 1, stdout: 'x' }) });
    const { code, stdout } = await urctl('exec', '--json', '--node', 'n1', '--', 'false');
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ exit_status: 1, stdout: 'x', request_id: 'r1' });
  });

  it.each([
    [409, 'NODE_OFFLINE', 69],
    [504, 'REPLY_TIMEOUT', 75],
    [503, 'BROKER_UNAVAILABLE', 69],
    [500, 'INTERNAL_ERROR', 70],
  ])('turns HTTP %i %s into one line and exit status %i', async (status, code, exit) => {
    route = () => ({ status, body: { code, message: 'it went wrong' } });
    const result = await urctl('exec', '--node', 'n1', '--', 'true');
    expect(result).toEqual({ code: exit, stdout: '', stderr: `urctl: ${code}: it went wrong\n` });
  });

  it('says what is missing instead of running nothing', async () => {
    const result = await urctl('exec', '--node', 'n1');
    expect(result.code).toBe(64);
    expect(result.stderr).toBe('urctl: give the script after --, or --file PATH\n');
    expect(requests).toHaveLength(0);
  });

  it('refuses unknown commands with a usage status', async () => {
    const result = await urctl('launch');
    expect(result.code).toBe(64);
    expect(result.stderr).toMatch(/^urctl: Unknown argument: launch/);
  });
});

describe('API tokens', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'urctl-config-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('sends UR_TOKEN as a bearer token, else the config file token; the variable wins', async () => {
    route = () => ({ status: 200, body: { nodes: [], total: 0, next: null } });
    const config = join(dir, 'urctl.json');
    await writeFile(config, JSON.stringify({ token: 'from-file' }), { mode: 0o600 });
    await urctlWith({ UR_CONFIG: config }, 'nodes');
    await urctlWith({ UR_CONFIG: config, UR_TOKEN: 'from-env' }, 'nodes');
    await urctl('nodes');
    expect(requests.map((r) => r.authorization)).toEqual(['Bearer from-file', 'Bearer from-env', undefined]);
  });

  it('takes the headnode URL from the config file when no flag or variable gives one', async () => {
    route = () => ({ status: 200, body: { nodes: [], total: 0, next: null } });
    const config = join(dir, 'headnode.json');
    await writeFile(config, JSON.stringify({ headnode: base }), { mode: 0o600 });
    const result = await urctlWith({ UR_CONFIG: config, UR_HEADNODE_URL: undefined }, 'nodes');
    expect(result.code).toBe(0);
    expect(requests).toHaveLength(1);
  });

  it('refuses a config file others can read, or one that is not a JSON object (exit 78)', async () => {
    const loose = join(dir, 'loose.json');
    await writeFile(loose, JSON.stringify({ token: 't' }));
    await chmod(loose, 0o640);
    const refused = await urctlWith({ UR_CONFIG: loose }, 'nodes');
    expect(refused.code).toBe(78);
    expect(refused.stderr).toMatch(/permissions 640 are too open .*chmod 600/);
    const junk = join(dir, 'junk.json');
    await writeFile(junk, '["token"]', { mode: 0o600 });
    expect((await urctlWith({ UR_CONFIG: junk }, 'nodes')).stderr).toMatch(/expected a JSON object/);
    expect(requests).toHaveLength(0);
  });

  it('exits 77 when the headnode wants a (better) token, saying where urctl reads it', async () => {
    route = () => ({ status: 401, body: { code: 'UNAUTHENTICATED', message: 'needs a token' } });
    const result = await urctl('nodes');
    expect(result.code).toBe(77);
    expect(result.stderr).toMatch(/^urctl: UNAUTHENTICATED: needs a token; set UR_TOKEN/);
    route = () => ({ status: 403, body: { code: 'FORBIDDEN', message: 'role read' } });
    expect((await urctl('exec', '--node', 'n1', '--', 'true')).code).toBe(77);
  });

  it('urctl nodes trust and forget post to the node key routes', async () => {
    route = (req) => ({
      status: 200,
      body: {
        ...node('n1', 'ready'),
        key_status: req.url?.endsWith('trust') ? 'pinned' : 'none',
        public_key: req.url?.endsWith('trust') ? 'ed25519:k' : null,
      },
    });
    expect((await urctl('nodes', 'trust', 'n1')).stdout).toBe('n1: key pinned ed25519:k\n');
    expect((await urctl('nodes', 'forget', 'n1')).stdout).toBe(
      "n1: no key pinned; the node's next announcement pins one\n",
    );
    expect(requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'POST /v1/nodes/n1/trust',
      'POST /v1/nodes/n1/forget',
    ]);
  });
});

describe('ago', () => {
  it.each([
    [0, '0s ago'],
    [59_000, '59s ago'],
    [61_000, '1m ago'],
    [7_200_000, '2h ago'],
    [3 * 86_400_000, '3d ago'],
  ])('%i ms → %s', (ms, text) => {
    expect(ago(new Date(1_000_000_000_000 - ms).toISOString(), 1_000_000_000_000)).toBe(text);
  });
});
