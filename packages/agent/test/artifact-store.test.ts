import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCoordinate, silentLogger, type ArtifactSummary } from '@ur/protocol';
import {
  ArtifactRepository,
  claimCompressionMethod,
  claimUncompressedSize,
  corruptEntryData,
  makeZip,
  recordingLogger,
  renameEntry,
  sha256Hex,
  type ZipEntrySpec,
} from '@ur/testkit';
import { ArtifactStore, type ArtifactStoreOptions } from '../src/artifacts/artifact-store.js';
import type { ArtifactError } from '../src/artifacts/errors.js';

let root: string;
let repo: ArtifactRepository;
let n = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ur-artifacts-'));
  repo = await ArtifactRepository.start();
});

afterAll(async () => {
  await repo.close();
  await rm(root, { recursive: true, force: true });
});

interface Harness {
  store: ArtifactStore;
  prefix: string;
  changes: ArtifactSummary[][];
}

async function newStore(extra: Partial<ArtifactStoreOptions> = {}): Promise<Harness> {
  const prefix = join(root, `p${n++}`);
  const changes: ArtifactSummary[][] = [];
  const store = new ArtifactStore({
    prefix,
    repository: repo.url,
    requireChecksum: false,
    maxDownloadBytes: 64 * 1024 * 1024,
    maxUnpackedBytes: 64 * 1024 * 1024,
    maxEntries: 1000,
    connectTimeoutMs: 2000,
    idleTimeoutMs: 400,
    retries: 2,
    retryDelayMs: 20,
    fsync: true,
    userAgent: 'ur-agent/test',
    logger: silentLogger,
    isInUse: () => false,
    onChange: (installed) => changes.push(installed),
    ...extra,
  });
  await store.open();
  return { store, prefix, changes };
}

const signal = (): AbortSignal => new AbortController().signal;
let coordinates = 0;
/** A fresh coordinate per test, so one repository serves them all. */
const fresh = (name = 'app'): string => `com.example:${name}${coordinates++}:1.0.0`;

const HELLO: ZipEntrySpec[] = [
  { name: 'bin/', directory: true },
  { name: 'bin/hello', data: '#!/bin/sh\necho hello from the artifact\n', mode: 0o100755 },
  { name: 'lib/data.txt', data: 'x'.repeat(10_000) },
  { name: 'README', data: 'read me\n', mode: 0o100644 },
  { name: 'lib/current', data: 'data.txt', mode: 0o120777 },
];

async function failure(promise: Promise<unknown>): Promise<ArtifactError> {
  try {
    await promise;
  } catch (err) {
    return err as ArtifactError;
  }
  throw new Error('expected a failure');
}

/** Everything that may exist under the prefix after a failed install: the empty work directories. */
async function expectNothingInstalled(h: Harness): Promise<void> {
  const software = join(h.prefix, 'software');
  const top = (await readdir(software)).filter((e) => !e.startsWith('.'));
  expect(top).toEqual([]);
  expect(await readdir(join(software, '.staging'))).toEqual([]);
  expect(existsSync(join(root, 'evil'))).toBe(false);
  expect(existsSync(join(h.prefix, 'evil'))).toBe(false);
  expect(existsSync(join(software, 'evil'))).toBe(false);
}

describe('installing', () => {
  it('unpacks into software/<group>/<artifact>/<version>, read-only, keeping executable bits', async () => {
    const h = await newStore();
    const coordinate = fresh('hello');
    const zip = await makeZip(HELLO);
    const path = repo.publish(coordinate, zip);
    const updates: { done: number; unit: string }[] = [];
    const result = await h.store.install(parseCoordinate(coordinate), {
      signal: signal(),
      progress: (u) => updates.push(u),
    });
    const [, artifactId] = coordinate.split(':');
    const dir = join(h.prefix, 'software', 'com.example', artifactId!, '1.0.0');
    expect(result).toMatchObject({
      coordinate,
      path: dir,
      already_installed: false,
      sha256: sha256Hex(zip),
      download_bytes: zip.length,
      files: 5,
      size: 10_000 + 8 + 39,
      source: `${repo.url}${path}`,
    });
    expect((await readFile(join(dir, 'bin/hello'), 'utf8')).startsWith('#!/bin/sh')).toBe(true);
    const mode = async (p: string): Promise<number> => (await lstat(join(dir, p))).mode & 0o777;
    expect(await mode('bin/hello')).toBe(0o555);
    expect(await mode('README')).toBe(0o444);
    expect(await mode('lib/data.txt')).toBe(0o444);
    expect(await mode('.')).toBe(0o555);
    expect(await mode('bin')).toBe(0o555);
    expect(await mode('lib')).toBe(0o555);
    expect(await readlink(join(dir, 'lib/current'))).toBe('data.txt');
    expect(JSON.parse(await readFile(join(dir, '.ur-artifact.json'), 'utf8'))).toMatchObject({ coordinate });
    expect(await readdir(join(h.prefix, 'software/.staging'))).toEqual([]);
    expect(updates.some((u) => u.unit === 'bytes' && u.done === zip.length)).toBe(true);
    expect(updates.at(-1)).toMatchObject({ unit: 'entries', done: 5 });
    expect(h.changes.at(-1)?.map((a) => a.coordinate)).toEqual([coordinate]);
  });

  it('writes large entries (streamed) and small ones (in memory) byte for byte, with their modes', async () => {
    const h = await newStore();
    const coordinate = fresh('sizes');
    const random = randomBytes(3 * 1024 * 1024);
    const text = Buffer.from('line of text\n'.repeat(100_000)); // ~1.3 MB, deflates well
    const entries: ZipEntrySpec[] = [
      { name: 'lib/random.bin', data: random, compress: false },
      { name: 'lib/text.txt', data: text },
      { name: 'bin/big-tool', data: Buffer.concat([Buffer.from('#!/bin/sh\n'), text]), mode: 0o100755 },
      ...Array.from({ length: 50 }, (_, i) => ({
        name: `src/f${i}.js`,
        data: `module ${i}\n`.repeat(i * 50),
      })),
    ];
    repo.publish(coordinate, await makeZip(entries));
    const result = await h.store.install(parseCoordinate(coordinate), { signal: signal() });
    const dir = result.path;
    expect((await readFile(join(dir, 'lib/random.bin'))).equals(random)).toBe(true);
    expect((await readFile(join(dir, 'lib/text.txt'))).equals(text)).toBe(true);
    for (let i = 0; i < 50; i++) {
      expect(await readFile(join(dir, `src/f${i}.js`), 'utf8')).toBe(`module ${i}\n`.repeat(i * 50));
    }
    const mode = async (p: string): Promise<number> => (await lstat(join(dir, p))).mode & 0o777;
    expect(await mode('bin/big-tool')).toBe(0o555);
    expect(await mode('lib/random.bin')).toBe(0o444);
    expect(await mode('src/f7.js')).toBe(0o444);
    expect(result.size).toBe(entries.reduce((sum, e) => sum + Buffer.byteLength(e.data ?? ''), 0));
  });

  it('reads hundreds of small entries through its block cache byte for byte (~2.4 MB, entries across blocks)', async () => {
    const h = await newStore();
    const coordinate = fresh('many');
    // Random sizes, so entries and headers straddle the reader's 256 KiB
    // blocks, and more blocks than it keeps; half stored, half deflated.
    const entries = Array.from({ length: 600 }, (_, i) => ({
      name: `m${i % 7}/e${i}.bin`,
      data: randomBytes(1 + ((i * 2_654_435_761) % 8_000)),
      compress: i % 2 === 0,
    }));
    const zip = await makeZip(entries);
    expect(zip.length).toBeGreaterThan(2_000_000);
    repo.publish(coordinate, zip);
    const result = await h.store.install(parseCoordinate(coordinate), { signal: signal() });
    for (const e of entries) expect((await readFile(join(result.path, e.name))).equals(e.data)).toBe(true);
    expect(result.files).toBe(600);
  });

  describe('durability', () => {
    let path: string | undefined;

    afterEach(() => {
      if (path !== undefined) process.env.PATH = path;
      path = undefined;
    });

    /**
     * Installs HELLO with a `sync` on PATH that records its arguments and the
     * files of the tree it was asked to sync, then exits with `status`.
     */
    async function installWithSync(
      status: number,
      extra: Partial<ArtifactStoreOptions> = {},
    ): Promise<{ record: string; lines: string[]; result: { path: string } }> {
      const bin = await mkdtemp(join(root, 'bin-'));
      const record = join(bin, 'calls');
      await writeFile(
        join(bin, 'sync'),
        `#!/bin/sh\necho "$*" >> ${record}\nfind "$2" -type f | sort >> ${record}\nexit ${status}\n`,
        { mode: 0o755 },
      );
      path = process.env.PATH;
      process.env.PATH = `${bin}:${path}`;
      const lines: string[] = [];
      const h = await newStore({ logger: recordingLogger(lines), ...extra });
      const coordinate = fresh('durable');
      repo.publish(coordinate, await makeZip(HELLO));
      const result = await h.store.install(parseCoordinate(coordinate), { signal: signal() });
      return { record, lines, result };
    }

    it('syncs the file system once, with every file of the version written, before it appears', async () => {
      const { record, lines, result } = await installWithSync(0);
      const calls = (await readFile(record, 'utf8')).trim().split('\n');
      const staged = /^-f (\S+\/\.staging\/\S+\/tree)$/.exec(calls[0] ?? '');
      expect(staged).not.toBeNull();
      const files = calls.slice(1).map((f) => f.slice((staged?.[1] ?? '').length + 1));
      expect(files).toEqual(['.ur-artifact.json', 'README', 'bin/hello', 'lib/data.txt']);
      expect(existsSync(join(result.path, 'lib/data.txt'))).toBe(true);
      expect(lines.filter((l) => l.startsWith('warn'))).toEqual([]);
    });

    it('fsyncs file by file where sync -f fails, and installs', async () => {
      const { record, lines, result } = await installWithSync(1);
      expect(await readFile(join(result.path, 'bin/hello'), 'utf8')).toContain('hello from the artifact');
      expect(existsSync(record)).toBe(true);
      expect(lines).toContainEqual(expect.stringMatching(/^warn sync -f failed; fsyncing each file instead/));
    });

    it('does not sync when fsync is off', async () => {
      const { record } = await installWithSync(0, { fsync: false });
      expect(existsSync(record)).toBe(false);
    });
  });

  it('lists, removes, and installs again with no download when already there', async () => {
    const h = await newStore();
    const coordinate = fresh();
    const path = repo.publish(coordinate, await makeZip(HELLO));
    await h.store.install(parseCoordinate(coordinate), { signal: signal() });
    const again = await h.store.install(parseCoordinate(coordinate), { signal: signal() });
    expect(again.already_installed).toBe(true);
    expect(repo.hits(path)).toBe(1);
    const listed = await h.store.list();
    expect(listed.map((a) => a.coordinate)).toEqual([coordinate]);
    expect(h.store.summaries()).toEqual([
      { coordinate, size: listed[0]!.size, sha256: listed[0]!.sha256, installed_at: listed[0]!.installed_at },
    ]);

    const removed = await h.store.remove(parseCoordinate(coordinate), false);
    expect(removed).toMatchObject({ coordinate, forced: false });
    expect(existsSync(removed.path)).toBe(false);
    expect(await readdir(join(h.prefix, 'software'))).toEqual(['.staging', '.trash']);
    expect(await readdir(join(h.prefix, 'software/.trash'))).toEqual([]);
    expect(await h.store.list()).toEqual([]);
    expect(h.changes.at(-1)).toEqual([]);
    expect((await failure(h.store.remove(parseCoordinate(coordinate), false))).code).toBe(
      'ARTIFACT_NOT_INSTALLED',
    );
  });

  it('serialises concurrent installs of one coordinate: one download, one version', async () => {
    const h = await newStore();
    const coordinate = fresh();
    const path = repo.publish(coordinate, await makeZip(HELLO));
    const results = await Promise.all(
      [1, 2, 3].map(() => h.store.install(parseCoordinate(coordinate), { signal: signal() })),
    );
    expect(results.map((r) => r.already_installed).sort()).toEqual([false, true, true]);
    expect(repo.hits(path)).toBe(1);
  });

  it('refuses a removal when a service uses the version, unless forced', async () => {
    const h = await newStore({ isInUse: () => true });
    const coordinate = fresh();
    repo.publish(coordinate, await makeZip(HELLO));
    const { path } = await h.store.install(parseCoordinate(coordinate), { signal: signal() });
    expect((await failure(h.store.remove(parseCoordinate(coordinate), false))).code).toBe('ARTIFACT_IN_USE');
    expect(existsSync(path)).toBe(true);
    expect(await h.store.remove(parseCoordinate(coordinate), true)).toMatchObject({ forced: true });
    expect(existsSync(path)).toBe(false);
  });

  it('downloads from an explicit url, without a repository', async () => {
    const h = await newStore({ repository: undefined });
    const coordinate = fresh();
    const zip = await makeZip(HELLO);
    repo.route('/elsewhere/thing.zip', { kind: 'body', body: zip, contentLength: false });
    expect((await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }))).code).toBe(
      'NO_ARTIFACT_REPO',
    );
    const result = await h.store.install(parseCoordinate(coordinate), {
      url: `${repo.url}/elsewhere/thing.zip`,
      sha256: sha256Hex(zip),
      signal: signal(),
    });
    expect(result.files).toBe(5);
  });

  it('retries a connection reset and succeeds', async () => {
    const h = await newStore();
    const coordinate = fresh();
    const zip = await makeZip(HELLO);
    const path = repo.publish(coordinate, zip);
    repo.route(path, { kind: 'flaky', body: zip, failures: 2 });
    expect((await h.store.install(parseCoordinate(coordinate), { signal: signal() })).files).toBe(5);
    expect(repo.hits(path)).toBe(3);
  });

  it('cleans what a crashed agent left in staging and trash when it opens', async () => {
    const h = await newStore();
    const stale = join(h.prefix, 'software/.staging/com.x:y:1-abc/tree/bin');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'half-written'), 'x', { mode: 0o444 });
    await (await import('node:fs/promises')).chmod(stale, 0o555);
    await mkdir(join(h.prefix, 'software/.trash/old'), { recursive: true });
    await h.store.open();
    expect(await readdir(join(h.prefix, 'software/.staging'))).toEqual([]);
    expect(await readdir(join(h.prefix, 'software/.trash'))).toEqual([]);
  });
});

describe('integrity', () => {
  it('refuses a checksum mismatch (from the request) and keeps nothing', async () => {
    const h = await newStore();
    const coordinate = fresh();
    repo.publish(coordinate, await makeZip(HELLO));
    const err = await failure(
      h.store.install(parseCoordinate(coordinate), { sha256: 'ab'.repeat(32), signal: signal() }),
    );
    expect(err.code).toBe('CHECKSUM_MISMATCH');
    expect(err.message).toContain(`expected ${'ab'.repeat(32)}`);
    await expectNothingInstalled(h);
  });

  it('verifies the .sha256 sidecar when the request gives none', async () => {
    const h = await newStore();
    const coordinate = fresh();
    repo.publish(coordinate, await makeZip(HELLO), `${'cd'.repeat(32)}  x.zip\n`);
    expect((await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }))).code).toBe(
      'CHECKSUM_MISMATCH',
    );
    await expectNothingInstalled(h);
  });

  it('requires a checksum when configured to, before downloading the archive', async () => {
    const h = await newStore({ requireChecksum: true });
    const coordinate = fresh();
    const zip = await makeZip(HELLO);
    const path = repo.publish(coordinate, zip, false);
    expect((await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }))).code).toBe(
      'CHECKSUM_REQUIRED',
    );
    expect(repo.hits(path)).toBe(0);
    const ok = await h.store.install(parseCoordinate(coordinate), {
      sha256: sha256Hex(zip),
      signal: signal(),
    });
    expect(ok.already_installed).toBe(false);
  });

  it('refuses a version installed with another checksum', async () => {
    const h = await newStore();
    const coordinate = fresh();
    repo.publish(coordinate, await makeZip(HELLO));
    await h.store.install(parseCoordinate(coordinate), { signal: signal() });
    const err = await failure(
      h.store.install(parseCoordinate(coordinate), { sha256: 'ef'.repeat(32), signal: signal() }),
    );
    expect(err.code).toBe('CHECKSUM_MISMATCH');
  });

  it('reports a missing artifact as ARTIFACT_NOT_FOUND without retrying', async () => {
    const h = await newStore();
    const coordinate = fresh();
    const err = await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }));
    expect(err.code).toBe('ARTIFACT_NOT_FOUND');
    expect(repo.hits(ArtifactRepository.archivePath(coordinate))).toBe(1);
    await expectNothingInstalled(h);
  });

  it.each([
    ['a server error', { kind: 'status', status: 503 }, 3, /HTTP 503 \(after 3 attempts\)/],
    ['a permanent HTTP error', { kind: 'status', status: 403 }, 1, /HTTP 403$/],
  ] as const)('gives up on %s with DOWNLOAD_FAILED', async (_what, route, attempts, message) => {
    const h = await newStore();
    const coordinate = fresh();
    const path = repo.publish(coordinate, Buffer.alloc(0), false);
    repo.route(path, route);
    const err = await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toMatch(message);
    expect(repo.hits(path)).toBe(attempts);
    await expectNothingInstalled(h);
  });

  it('gives up on connections reset mid-download', async () => {
    const h = await newStore();
    const coordinate = fresh();
    const zip = await makeZip([{ name: 'big', data: Buffer.alloc(2_000_000, 7), compress: false }]);
    const path = repo.publish(coordinate, zip, false);
    repo.route(path, { kind: 'reset', body: zip, after: 500_000 });
    const err = await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toContain('after 3 attempts');
    expect(repo.hits(path)).toBe(3);
    await expectNothingInstalled(h);
  });

  it('gives up on a server that stalls, after the idle timeout and retries', async () => {
    const h = await newStore();
    const coordinate = fresh();
    const zip = await makeZip([{ name: 'big', data: Buffer.alloc(1_000_000, 7), compress: false }]);
    const path = repo.publish(coordinate, zip, false);
    repo.route(path, { kind: 'stall', body: zip, after: 1000 });
    const started = Date.now();
    const err = await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }));
    expect(err.code).toBe('DOWNLOAD_FAILED');
    expect(err.message).toContain('stalled');
    expect(Date.now() - started).toBeLessThan(15_000);
    await expectNothingInstalled(h);
  });

  it('stops at the download size limit, by Content-Length or by the bytes received', async () => {
    const h = await newStore({ maxDownloadBytes: 100_000 });
    const zip = await makeZip([{ name: 'big', data: Buffer.alloc(300_000, 7), compress: false }]);
    for (const contentLength of [true, false]) {
      const coordinate = fresh();
      const path = repo.publish(coordinate, zip, false);
      repo.route(path, { kind: 'body', body: zip, contentLength });
      const err = await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }));
      expect(err.code).toBe('ARTIFACT_TOO_LARGE');
      expect(repo.hits(path)).toBe(1);
    }
    await expectNothingInstalled(h);
  });

  it('rolls back when aborted (timeout, agent stopping)', async () => {
    const h = await newStore({ idleTimeoutMs: 30_000 });
    const coordinate = fresh();
    const zip = await makeZip([{ name: 'big', data: Buffer.alloc(1_000_000, 7), compress: false }]);
    const path = repo.publish(coordinate, zip, false);
    repo.route(path, { kind: 'stall', body: zip, after: 1000 });
    const controller = new AbortController();
    const install = h.store.install(parseCoordinate(coordinate), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('stopped by the test')), 200);
    expect((await failure(install)).message).toBe('stopped by the test');
    await expectNothingInstalled(h);
  });
});

describe('archive safety', () => {
  async function refused(
    zip: Buffer,
    code: string,
    extra: Partial<ArtifactStoreOptions> = {},
  ): Promise<{ err: ArtifactError; h: Harness }> {
    const h = await newStore(extra);
    const coordinate = fresh();
    repo.publish(coordinate, zip);
    const err = await failure(h.store.install(parseCoordinate(coordinate), { signal: signal() }));
    expect([err.code, err.message]).toEqual([code, expect.any(String)]);
    await expectNothingInstalled(h);
    return { err, h };
  }

  it('refuses zip-slip (../evil)', async () => {
    const zip = renameEntry(
      await makeZip([
        { name: 'ok.txt', data: 'fine' },
        { name: 'xx/evil', data: 'pwned' },
      ]),
      'xx/evil',
      '../evil',
    );
    const { err } = await refused(zip, 'UNSAFE_ARCHIVE');
    expect(err.message).toContain("'..' component");
  });

  it('refuses deeper zip-slip (a/../../evil) and backslashes (..\\evil)', async () => {
    await refused(
      renameEntry(await makeZip([{ name: 'a/bb/cc/evil', data: 'x' }]), 'a/bb/cc/evil', 'a/../../evil'),
      'UNSAFE_ARCHIVE',
    );
    await refused(
      renameEntry(await makeZip([{ name: 'xxxevil', data: 'x' }]), 'xxxevil', '..\\evil'),
      'UNSAFE_ARCHIVE',
    );
  });

  it('refuses absolute paths', async () => {
    const target = join(root, 'evil');
    const placeholder = `x${target.slice(1)}`;
    const zip = renameEntry(await makeZip([{ name: placeholder, data: 'pwned' }]), placeholder, target);
    const { err } = await refused(zip, 'UNSAFE_ARCHIVE');
    expect(err.message).toContain('absolute path');
    expect(existsSync(target)).toBe(false);
  });

  it('refuses symlinks leading outside, directly or through another link', async () => {
    await refused(
      await makeZip([{ name: 'etc', data: '../../../../../etc', mode: 0o120777 }]),
      'UNSAFE_ARCHIVE',
    );
    await refused(await makeZip([{ name: 'abs', data: '/etc/passwd', mode: 0o120777 }]), 'UNSAFE_ARCHIVE');
    // Each looks harmless by its text; together `up` is the parent of the version.
    const { err } = await refused(
      await makeZip([
        { name: 'here', data: '.', mode: 0o120777 },
        { name: 'up', data: 'here/..', mode: 0o120777 },
      ]),
      'UNSAFE_ARCHIVE',
    );
    expect(err.message).toContain('resolves outside');
  });

  it('refuses writing through a symlink entry and duplicate entries', async () => {
    await refused(
      await makeZip([
        { name: 'dir', data: '.', mode: 0o120777 },
        { name: 'dir/file', data: 'x' },
      ]),
      'UNSAFE_ARCHIVE',
    );
    await refused(
      await makeZip([
        { name: 'same', data: 'a' },
        { name: 'same', data: 'b' },
      ]),
      'UNSAFE_ARCHIVE',
    );
  });

  it('refuses device files and FIFOs, and its own metadata name', async () => {
    await refused(await makeZip([{ name: 'fifo', data: '', mode: 0o010644 }]), 'UNSAFE_ARCHIVE');
    await refused(await makeZip([{ name: '.ur-artifact.json', data: '{}' }]), 'UNSAFE_ARCHIVE');
  });

  it('refuses a zip bomb by the bytes it inflates to (10 MB of zeros)', async () => {
    const zip = await makeZip([{ name: 'zeros', data: Buffer.alloc(10 * 1024 * 1024) }]);
    expect(zip.length).toBeLessThan(100_000);
    const { err } = await refused(zip, 'ARTIFACT_TOO_LARGE', { maxUnpackedBytes: 1024 * 1024 });
    expect(err.message).toContain('unpacked limit');
  });

  it('refuses a zip bomb that claims a small size in its headers', async () => {
    const zip = claimUncompressedSize(
      await makeZip([{ name: 'zeros', data: Buffer.alloc(10 * 1024 * 1024) }]),
      'zeros',
      1000,
    );
    const { err } = await refused(zip, 'UNSAFE_ARCHIVE', { maxUnpackedBytes: 1024 * 1024 });
    expect(err.message).toContain('does not match its header');
  });

  it('refuses an entry whose data is shorter than its headers say', async () => {
    const zip = claimUncompressedSize(
      await makeZip([{ name: 'short', data: 'abc'.repeat(1000) }]),
      'short',
      5000,
    );
    const { err } = await refused(zip, 'UNSAFE_ARCHIVE');
    expect(err.message).toContain('does not match its header');
  });

  it('refuses an entry compressed with a method it cannot read', async () => {
    const zip = claimCompressionMethod(
      await makeZip([{ name: 'packed', data: 'x'.repeat(5000) }]),
      'packed',
      12,
    );
    const { err } = await refused(zip, 'INVALID_ARCHIVE');
    expect(err.message).toContain('compression method 12');
  });

  it('refuses an archive with more entries than allowed (100,001 entries)', async () => {
    const entries = Array.from({ length: 100_001 }, (_, i) => ({ name: `f${i}`, data: '', compress: false }));
    const { err } = await refused(await makeZip(entries), 'ARTIFACT_TOO_LARGE', { maxEntries: 100_000 });
    expect(err.message).toContain('100001 entries');
  });

  it('refuses files that are not zips, and corrupt data', async () => {
    await refused(Buffer.from('this is not a zip file at all'), 'INVALID_ARCHIVE');
    const zip = await makeZip([{ name: 'data', data: 'some text '.repeat(1000) }]);
    await refused(corruptEntryData(zip, 'data'), 'INVALID_ARCHIVE');
  });
});
