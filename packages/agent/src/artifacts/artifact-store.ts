import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  artifactArchivePath,
  formatCoordinate,
  redactUrl,
  type ArtifactCoordinate,
  type ArtifactInstallResult,
  type ArtifactRemoveResult,
  type ArtifactSummary,
  type InstalledArtifact,
  type Logger,
} from '@ur/protocol/wire';
import { KeyedLock } from '../keyed-lock.js';
import type { ProgressUpdate } from '../progress-reporter.js';
import type { DownloadOptions } from './download.js';
import { METADATA_FILE } from './entry-path.js';
import { ArtifactError, ChecksumMismatchError, InUseError, NotInstalledError } from './errors.js';
import {
  metadataOf,
  readMetadata,
  scanInstalled,
  storeLayout,
  versionDir,
  type StoreLayout,
} from './layout.js';
import { removeTree, SEALED_DIR_MODE, sealDirectories, syncDirectory } from './tree.js';

export interface ArtifactStoreOptions {
  prefix: string;
  /** Base URL of the artifact repository; requests without `url` need it. */
  repository: string | undefined;
  /** Refuse archives whose SHA-256 neither the request nor a `.sha256` sidecar gives. */
  requireChecksum: boolean;
  maxDownloadBytes: number;
  maxUnpackedBytes: number;
  maxEntries: number;
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** fsync files and directories before a version appears (survives power loss, costs time). */
  fsync: boolean;
  userAgent: string;
  logger: Logger;
  /**
   * True if a service uses the version (it runs, or will be restarted);
   * such a version is removed only with `force`.
   */
  isInUse: (coordinate: string) => boolean;
  /** Called after a version appeared or disappeared, with every installed version. */
  onChange: (installed: ArtifactSummary[]) => void;
}

export interface InstallOptions {
  /** The zip's URL; default `<repository>/<groupId>/<artifactId>/<version>/<artifactId>-<version>.zip`. */
  url?: string | undefined;
  /** Expected SHA-256 of the zip; default the repository's `<zip>.sha256`, if any. */
  sha256?: string | undefined;
  signal: AbortSignal;
  progress?: ((update: ProgressUpdate) => void) | undefined;
}

/** Entries unpacked at once; small files are dominated by file system round trips. */
const UNPACK_CONCURRENCY = 8;

/** Key of the lock held while the tree's directories change (commit, removal). */
const TREE = 'tree';

/**
 * The node's software tree: `<prefix>/software/<groupId>/<artifactId>/<version>/`,
 * read-only once installed. Installs go download → verify → unpack in
 * `.staging/`, then one rename makes the version appear whole; a crash at
 * any point leaves only staging files, which {@link open} deletes.
 * Operations on one coordinate run one at a time.
 */
export class ArtifactStore {
  readonly #o: ArtifactStoreOptions;
  readonly #layout: StoreLayout;
  readonly #log: Logger;
  readonly #locks = new KeyedLock();
  #installed = new Map<string, InstalledArtifact>();

  constructor(options: ArtifactStoreOptions) {
    this.#o = options;
    this.#layout = storeLayout(options.prefix);
    this.#log = options.logger;
  }

  get layout(): StoreLayout {
    return this.#layout;
  }

  /** Deletes what crashed installs and removals left, and reads what is installed. */
  async open(): Promise<void> {
    const { software, staging, trash } = this.#layout;
    await mkdir(software, { recursive: true });
    for (const dir of [staging, trash]) {
      const leftovers = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
      for (const name of leftovers) await removeTree(join(dir, name));
      if (leftovers.length > 0)
        this.#log.info('removed unfinished artifact work', { dir, entries: leftovers.length });
    }
    const installed = await scanInstalled(this.#layout, this.#log);
    for (const artifact of installed) {
      // A crash between the rename and the seal leaves the top writable.
      if (((await lstat(artifact.path)).mode & 0o777) !== SEALED_DIR_MODE)
        await chmod(artifact.path, SEALED_DIR_MODE);
    }
    this.#installed = new Map(installed.map((a) => [a.coordinate, a]));
  }

  /** What the node announces in its sysinfo ("Ur Artifacts"). */
  summaries(): ArtifactSummary[] {
    return [...this.#installed.values()]
      .sort((a, b) => a.coordinate.localeCompare(b.coordinate))
      .map((a) => ({
        coordinate: a.coordinate,
        size: a.size,
        sha256: a.sha256,
        installed_at: a.installed_at,
      }));
  }

  async list(): Promise<InstalledArtifact[]> {
    const installed = await scanInstalled(this.#layout, this.#log);
    this.#installed = new Map(installed.map((a) => [a.coordinate, a]));
    return installed;
  }

  /** The installed version, if it is there (read from its metadata, not the cache). */
  find(c: ArtifactCoordinate): Promise<InstalledArtifact | undefined> {
    return readMetadata(versionDir(this.#layout, c));
  }

  install(c: ArtifactCoordinate, options: InstallOptions): Promise<ArtifactInstallResult> {
    const coordinate = formatCoordinate(c);
    return this.#locks.run(coordinate, () => this.#install(c, coordinate, options));
  }

  remove(c: ArtifactCoordinate, force: boolean): Promise<ArtifactRemoveResult> {
    const coordinate = formatCoordinate(c);
    return this.#locks.run(coordinate, () => this.#remove(c, coordinate, force));
  }

  #urlFor(c: ArtifactCoordinate, url: string | undefined): string {
    if (url !== undefined) {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new ArtifactError('INVALID_REQUEST', `url ${JSON.stringify(url)} is not a URL`);
      }
      if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
        throw new ArtifactError('INVALID_REQUEST', `url must be http or https, not ${parsed.protocol}`);
      }
      return parsed.href;
    }
    const repo = this.#o.repository;
    if (repo === undefined) {
      throw new ArtifactError(
        'NO_ARTIFACT_REPO',
        'the request has no url and the agent has no artifact repository (--artifact-repo)',
      );
    }
    return new URL(artifactArchivePath(c), repo.endsWith('/') ? repo : `${repo}/`).href;
  }

  async #install(
    c: ArtifactCoordinate,
    coordinate: string,
    o: InstallOptions,
  ): Promise<ArtifactInstallResult> {
    const target = versionDir(this.#layout, c);
    const existing = await readMetadata(target);
    if (existing) {
      const wanted = o.sha256?.toLowerCase();
      if (wanted !== undefined && existing.sha256 !== wanted) {
        throw new ChecksumMismatchError(
          `${coordinate} is installed; its archive`,
          wanted,
          existing.sha256 ?? 'unknown',
        );
      }
      return { ...existing, already_installed: true };
    }
    const url = this.#urlFor(c, o.url);
    const started = Date.now();
    const [{ downloadFile, fetchChecksum }, { unpackZip }, { makeTreeDurable }] = await Promise.all([
      import('./download.js'),
      import('./unpack.js'),
      import('./durable-tree.js'),
    ]);
    const net: DownloadOptions = {
      connectTimeoutMs: this.#o.connectTimeoutMs,
      idleTimeoutMs: this.#o.idleTimeoutMs,
      retries: this.#o.retries,
      retryDelayMs: this.#o.retryDelayMs,
      maxBytes: this.#o.maxDownloadBytes,
      signal: o.signal,
      userAgent: this.#o.userAgent,
      logger: this.#log,
    };
    await mkdir(this.#layout.staging, { recursive: true });
    const work = await mkdtemp(join(this.#layout.staging, `${coordinate}-`));
    try {
      const expected = o.sha256?.toLowerCase() ?? (await fetchChecksum(`${url}.sha256`, net));
      if (expected === undefined && this.#o.requireChecksum) {
        throw new ArtifactError(
          'CHECKSUM_REQUIRED',
          `no sha256 for ${coordinate}: the request gives none and ${redactUrl(url)}.sha256 does not exist`,
        );
      }
      const archive = join(work, 'archive.zip');
      const downloaded = await downloadFile(url, archive, {
        ...net,
        onProgress: (done, total) => o.progress?.({ done, total, unit: 'bytes', message: 'downloading' }),
      });
      if (expected !== undefined && downloaded.sha256 !== expected) {
        throw new ChecksumMismatchError(redactUrl(url), expected, downloaded.sha256);
      }
      const tree = join(work, 'tree');
      await mkdir(tree);
      const unpacked = await unpackZip(archive, tree, {
        maxUnpackedBytes: this.#o.maxUnpackedBytes,
        maxEntries: this.#o.maxEntries,
        concurrency: UNPACK_CONCURRENCY,
        signal: o.signal,
        onProgress: (done, total) => o.progress?.({ done, total, unit: 'entries', message: 'unpacking' }),
      });
      await rm(archive);
      const artifact: InstalledArtifact = {
        coordinate,
        group_id: c.groupId,
        artifact_id: c.artifactId,
        version: c.version,
        path: target,
        size: unpacked.bytes,
        files: unpacked.files,
        sha256: downloaded.sha256,
        download_bytes: downloaded.bytes,
        source: redactUrl(url),
        installed_at: new Date().toISOString(),
      };
      const metadata = join(tree, METADATA_FILE);
      await writeFile(metadata, `${JSON.stringify(metadataOf(artifact), null, 2)}\n`, {
        mode: 0o444,
        flag: 'wx',
      });
      if (this.#o.fsync) {
        await makeTreeDurable(tree, [...unpacked.written, metadata], unpacked.directories, {
          signal: o.signal,
          logger: this.#log,
        });
      }
      // The top stays writable until after the rename: moving a directory to
      // another parent rewrites its `..`, which needs write permission on it.
      await sealDirectories(unpacked.directories.filter((d) => d !== tree));
      o.signal.throwIfAborted();
      await this.#locks.run(TREE, async () => {
        await mkdir(dirname(target), { recursive: true });
        await rename(tree, target);
        await chmod(target, SEALED_DIR_MODE);
        if (this.#o.fsync) await syncDirectory(dirname(target));
      });
      this.#installed.set(coordinate, artifact);
      this.#log.info('artifact installed', {
        coordinate,
        path: target,
        files: artifact.files,
        bytes: artifact.size,
        ms: Date.now() - started,
      });
      this.#changed();
      return { ...artifact, already_installed: false };
    } finally {
      await removeTree(work).catch((err: unknown) =>
        this.#log.warn('could not remove staging directory', { path: work, error: String(err) }),
      );
    }
  }

  async #remove(c: ArtifactCoordinate, coordinate: string, force: boolean): Promise<ArtifactRemoveResult> {
    const target = versionDir(this.#layout, c);
    if (!(await readMetadata(target))) throw new NotInstalledError(coordinate);
    const inUse = this.#o.isInUse(coordinate);
    if (inUse && !force) throw new InUseError(coordinate);
    await mkdir(this.#layout.trash, { recursive: true });
    const doomed = join(this.#layout.trash, `${coordinate}-${randomBytes(6).toString('hex')}`);
    await this.#locks.run(TREE, async () => {
      await chmod(target, 0o755);
      await rename(target, doomed);
      // Empty artifact and group directories go too, so the tree lists only what is installed.
      for (const dir of [dirname(target), dirname(dirname(target))]) {
        const gone = await rmdir(dir).then(
          () => true,
          () => false,
        );
        if (!gone) break;
      }
    });
    this.#installed.delete(coordinate);
    this.#log.info('artifact removed', { coordinate, forced: inUse });
    this.#changed();
    await removeTree(doomed);
    return { coordinate, path: target, forced: inUse };
  }

  #changed(): void {
    try {
      this.#o.onChange(this.summaries());
    } catch (err) {
      this.#log.warn('artifact change listener failed', { error: String(err) });
    }
  }
}
