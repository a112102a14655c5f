// The artifact install benchmark: a ~100 MB artifact installed by a real
// agent (through the broker, from a local HTTP server) against `curl -o` +
// `unzip -q` of the same file, in the same run. Not a test: it reports.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createInterface } from 'node:readline';
import { createWriteStream } from 'node:fs';
import yazl from 'yazl';
import { Agent } from '@ur/agent';
import type { ArtifactInstallResult, ExecuteReply } from '@ur/protocol';
import amqplib from 'amqplib';
import { WireClient } from '@ur/testkit';

const run = promisify(execFile);

export interface BenchArtifactInstallOptions {
  /** Broker URL. @default UR_AMQP_URL, AMQP_URL, else the local broker */
  url?: string;
  /** Scratch directory (removed afterwards). @default a new one under the OS tmpdir */
  dir?: string;
  /** Fewer runs. @default false */
  quick?: boolean;
  /** Runs of each side; the medians are compared. @default 5 (3 when quick) */
  runs?: number;
  /** Approximate size of the zip in MiB. @default 100 */
  sizeMiB?: number;
  /** The agent fsyncs what it unpacks (its default). @default true */
  fsync?: boolean;
  log?: (message: string) => void;
}

export interface BenchArtifactInstallResult {
  ur_ms: number;
  curl_unzip_ms: number;
  ratio: number;
}

const COORDINATE = 'com.example.bench:payload:1.0.0';
const ARCHIVE = 'com.example.bench/payload/1.0.0/payload-1.0.0.zip';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/** Words, so text files compress about as well as source code and configuration do. */
function text(bytes: number): Buffer {
  const words = [
    'agent',
    'node',
    'service',
    'config',
    'value',
    'return',
    'function',
    'const',
    '{',
    '}',
    '\n',
  ];
  const parts: string[] = [];
  let length = 0;
  while (length < bytes) {
    const word = words[(Math.random() * words.length) | 0] ?? ' ';
    parts.push(word, ' ');
    length += word.length + 1;
  }
  return Buffer.from(parts.join('').slice(0, bytes));
}

/**
 * A zip shaped like a service release: a few large already-compressed files
 * (jars, images: random bytes), many small compressible ones (code, config),
 * and executables.
 */
async function makeArtifact(path: string, sizeMiB: number): Promise<{ bytes: number; entries: number }> {
  const zip = new yazl.ZipFile();
  const MiB = 1024 * 1024;
  const large = Math.max(1, Math.round((sizeMiB * 0.8) / 8));
  for (let i = 0; i < large; i++)
    zip.addBuffer(randomBytes(8 * MiB), `lib/dep-${i}.jar`, { compress: false });
  const small = Math.round((sizeMiB * 0.2 * MiB * 4) / (32 * 1024)); // ~4:1 deflate on text
  for (let i = 0; i < small; i++) zip.addBuffer(text(32 * 1024), `app/src/module-${i % 40}/file-${i}.js`);
  for (let i = 0; i < 10; i++) zip.addBuffer(text(16 * 1024), `bin/tool-${i}`, { mode: 0o100755 });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    zip.outputStream.pipe(createWriteStream(path)).on('close', resolve).on('error', reject);
  });
  return { bytes: (await stat(path)).size, entries: large + small + 10 };
}

/** A static file server in its own process, so it takes no time from the agent's event loop. */
async function serve(root: string): Promise<{ url: string; child: ChildProcess }> {
  const script = `
    import { createServer } from 'node:http';
    import { createReadStream, statSync } from 'node:fs';
    import { join, normalize } from 'node:path';
    const root = ${JSON.stringify(root)};
    const server = createServer((req, res) => {
      const path = join(root, normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)));
      let size;
      try { size = statSync(path).size; } catch { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': size });
      createReadStream(path).pipe(res);
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<string>((resolve) => lines.once('line', resolve));
  return { url: `http://127.0.0.1:${port}`, child };
}

/**
 * Installs the same ~100 MB zip with ur-agent and with curl + unzip,
 * alternating, and compares the medians. The agent's time is from sending
 * `artifact.install` to its reply: download, SHA-256 from the sidecar-less
 * download, unpack with every check, rename; each run starts from nothing.
 */
export async function benchArtifactInstall(
  options: BenchArtifactInstallOptions = {},
): Promise<BenchArtifactInstallResult> {
  const log = options.log ?? ((m: string) => process.stderr.write(`bench: ${m}\n`));
  const url =
    options.url ?? process.env.UR_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const runs = options.runs ?? (options.quick === true ? 3 : 5);
  const base = await mkdtemp(join(options.dir ?? tmpdir(), 'artifact-bench-'));
  const tag = randomBytes(3).toString('hex');
  const exchange = `ur.bench-artifact.${tag}`;
  let server: ChildProcess | undefined;
  let agent: Agent | undefined;
  let client: WireClient | undefined;
  try {
    const repo = join(base, 'repo');
    await mkdir(join(repo, 'com.example.bench/payload/1.0.0'), { recursive: true });
    const made = await makeArtifact(join(repo, ARCHIVE), options.sizeMiB ?? 100);
    log(`artifact: ${(made.bytes / 1024 / 1024).toFixed(1)} MiB zip, ${made.entries} entries`);
    const served = await serve(repo);
    server = served.child;
    const archiveUrl = `${served.url}/${ARCHIVE}`;

    client = await WireClient.connect(url, exchange);
    const nodeId = `bench-artifact-${tag}`;
    agent = new Agent({
      amqpUrl: url,
      exchange,
      nodeId,
      prefix: join(base, 'agent'),
      probeHardware: false,
      artifacts: { repository: served.url, fsync: options.fsync ?? true },
    });
    await agent.start();
    const execute = async (body: unknown): Promise<ExecuteReply> => {
      const reply = (await client!.execute(nodeId, body, undefined, 600_000)).body as ExecuteReply;
      if (reply.error) throw new Error(`${reply.error.code}: ${reply.error.message}`);
      return reply;
    };

    const curlDir = join(base, 'curl');
    const urTimes: number[] = [];
    const curlTimes: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const installed = (await execute({ type: 'artifact.install', coordinate: COORDINATE, timeout: 600 }))
        .result as ArtifactInstallResult;
      urTimes.push(performance.now() - t);
      if (installed.already_installed) throw new Error('the artifact was already installed');
      await execute({ type: 'artifact.remove', coordinate: COORDINATE });

      await rm(curlDir, { recursive: true, force: true });
      await mkdir(join(curlDir, 'out'), { recursive: true });
      t = performance.now();
      await run('curl', ['-sSf', '-o', join(curlDir, 'payload.zip'), archiveUrl]);
      await run('unzip', ['-q', '-d', join(curlDir, 'out'), join(curlDir, 'payload.zip')]);
      curlTimes.push(performance.now() - t);
      log(
        `run ${i + 1}/${runs}: ur-agent ${urTimes.at(-1)!.toFixed(0)} ms, curl + unzip ${curlTimes.at(-1)!.toFixed(0)} ms`,
      );
    }
    const ur = median(urTimes);
    const curl = median(curlTimes);
    return { ur_ms: Math.round(ur), curl_unzip_ms: Math.round(curl), ratio: Number((ur / curl).toFixed(2)) };
  } finally {
    await agent?.stop();
    await client?.close();
    server?.kill();
    await deleteExchange(url, exchange).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  }
}

async function deleteExchange(url: string, exchange: string): Promise<void> {
  const connection = await amqplib.connect(url);
  try {
    await (await connection.createChannel()).deleteExchange(exchange);
  } finally {
    await connection.close();
  }
}

// `tsx scripts/bench/artifact-install.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await benchArtifactInstall({ fsync: process.env.UR_BENCH_FSYNC !== '0' });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
