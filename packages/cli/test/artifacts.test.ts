import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runCli, type CliIo } from '@ur/cli';
import type { ArtifactInstallResponse, InstalledArtifact, ProgressEvent } from '@ur/protocol';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A real HTTP server standing in for the headnode. */
let server: Server;
let base: string;
let handler: Handler = (_req, res) => res.writeHead(500).end('{}');
const requests: { method: string; url: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));
beforeEach(() => {
  requests.length = 0;
});

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

async function urctl(argv: string[], tty = false): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t), isTTY: tty },
    stderr: { write: (t: string) => (stderr += t), isTTY: tty, columns: 100 },
    env: { UR_HEADNODE_URL: base },
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

const artifact: InstalledArtifact = {
  coordinate: 'com.example:app:1.0.0',
  group_id: 'com.example',
  artifact_id: 'app',
  version: '1.0.0',
  path: '/var/lib/ur/software/com.example/app/1.0.0',
  size: 3 * 1024 * 1024,
  files: 12,
  sha256: 'ab'.repeat(32),
  download_bytes: 1000,
  source: 'http://repo/x.zip',
  installed_at: new Date(Date.now() - 120_000).toISOString(),
};
const installed: ArtifactInstallResponse = {
  node_id: 'n1',
  request_id: 'r1',
  ...artifact,
  already_installed: false,
};

const progress = (
  seq: number,
  done: number,
  total: number,
  unit: string,
  message: string,
): ProgressEvent => ({
  type: 'progress',
  node_id: 'n1',
  request_id: 'r1',
  seq,
  at: new Date().toISOString(),
  stage: 'progress',
  progress: { done, total, unit, message },
});

describe('urctl artifacts install', () => {
  it('posts the coordinate and options and prints one line', async () => {
    handler = json(201, installed);
    const { code, stdout } = await urctl([
      'artifacts',
      'install',
      '--node',
      'n1',
      'com.example:app:1.0.0',
      '--sha256',
      'ab'.repeat(32),
      '--url',
      'http://elsewhere/app.zip',
      '--timeout',
      '600',
    ]);
    expect(code).toBe(0);
    expect(requests[0]).toMatchObject({ method: 'POST', url: '/v1/nodes/n1/artifacts' });
    expect(JSON.parse(requests[0]!.body)).toEqual({
      coordinate: 'com.example:app:1.0.0',
      sha256: 'ab'.repeat(32),
      url: 'http://elsewhere/app.zip',
      timeout: 600,
    });
    expect(stdout).toBe(
      `installed com.example:app:1.0.0 on n1: ${artifact.path} (12 files, 3.0 MiB, sha256 ${'ab'.repeat(32)})\n`,
    );
  });

  it('on a terminal, streams and draws the progress, then prints the result', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(
        `${JSON.stringify(progress(2, 5 * 1024 * 1024, 10 * 1024 * 1024, 'bytes', 'downloading'))}\n`,
      );
      res.write(`${JSON.stringify(progress(3, 6, 12, 'entries', 'unpacking'))}\n`);
      res.end(`${JSON.stringify({ type: 'result', status: 201, result: installed })}\n`);
    };
    const { code, stdout, stderr } = await urctl(
      ['artifacts', 'install', '--node', 'n1', artifact.coordinate],
      true,
    );
    expect(code).toBe(0);
    expect(requests[0]?.url).toBe('/v1/nodes/n1/artifacts?stream=1');
    expect(stderr).toContain('downloading');
    expect(stderr).toContain('5.0 MiB / 10.0 MiB');
    expect(stderr).toContain('unpacking');
    expect(stderr).toContain('6 entries / 12 entries');
    expect(stdout).toMatch(/^installed com.example:app:1.0.0 on n1/);
  });

  it('on a terminal, a streamed failure exits with its code', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(
        `${JSON.stringify({ type: 'error', status: 502, error: { code: 'CHECKSUM_MISMATCH', message: 'sha256 is x, expected y' } })}\n`,
      );
    };
    const { code, stderr } = await urctl(['artifacts', 'install', '--node', 'n1', artifact.coordinate], true);
    expect(code).toBe(65);
    expect(stderr).toContain('urctl: CHECKSUM_MISMATCH: sha256 is x, expected y');
  });

  it('draws nothing when stdout is not a terminal', async () => {
    handler = json(200, { ...installed, already_installed: true });
    const { code, stdout, stderr } = await urctl([
      'artifacts',
      'install',
      '--node',
      'n1',
      artifact.coordinate,
    ]);
    expect(code).toBe(0);
    expect(requests[0]?.url).toBe('/v1/nodes/n1/artifacts');
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^already installed: /);
  });

  it.each([
    ['INVALID_COORDINATE', 400, 64],
    ['NO_ARTIFACT_REPO', 400, 78],
    ['ARTIFACT_NOT_FOUND', 404, 66],
    ['UNSAFE_ARCHIVE', 422, 65],
    ['ARTIFACT_TOO_LARGE', 413, 65],
    ['DOWNLOAD_FAILED', 502, 75],
    ['NODE_OFFLINE', 409, 69],
  ])('exits for %s with a sysexits code', async (errorCode, status, exit) => {
    handler = json(status, { code: errorCode, message: 'it went wrong' });
    const { code, stderr } = await urctl(['artifacts', 'install', '--node', 'n1', 'a:b:c']);
    expect(code).toBe(exit);
    expect(stderr).toBe(`urctl: ${errorCode}: it went wrong\n`);
  });
});

describe('urctl artifacts remove and list', () => {
  it('removes, with force when asked', async () => {
    handler = json(200, {
      node_id: 'n1',
      request_id: 'r',
      coordinate: artifact.coordinate,
      path: artifact.path,
      forced: true,
    });
    const { code, stdout } = await urctl([
      'artifacts',
      'remove',
      '--node',
      'n1',
      artifact.coordinate,
      '--force',
    ]);
    expect(code).toBe(0);
    expect(requests[0]).toMatchObject({
      method: 'DELETE',
      url: `/v1/nodes/n1/artifacts/${encodeURIComponent(artifact.coordinate)}?force=true`,
    });
    expect(stdout).toBe(`removed ${artifact.coordinate} from n1 (it was in use)\n`);
  });

  it('lists as a table, or as JSON', async () => {
    handler = json(200, { node_id: 'n1', request_id: 'r', artifacts: [artifact] });
    const table = await urctl(['artifacts', 'list', '--node', 'n1']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^COORDINATE\s+SIZE\s+INSTALLED\s+SHA256\s*$/);
    expect(lines[1]).toMatch(/^com.example:app:1.0.0\s+3.0 MiB\s+2m ago\s+abababababab$/);
    const asJson = await urctl(['artifacts', 'list', '--node', 'n1', '--json']);
    expect(JSON.parse(asJson.stdout)).toEqual([artifact]);
  });

  it('says so when nothing is installed', async () => {
    handler = json(200, { node_id: 'n1', request_id: 'r', artifacts: [] });
    const { code, stdout, stderr } = await urctl(['artifacts', 'list', '--node', 'n1']);
    expect([code, stdout, stderr]).toEqual([0, '', 'no artifacts installed on n1\n']);
  });
});
