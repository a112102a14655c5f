import { randomBytes } from 'node:crypto';
import { chmod, cp, lchown, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { redactUrl, UrError, type Logger, type PreparedStep } from '@ur/protocol/wire';
import { removeTree } from '../artifacts/tree.js';
import { PrepareFailedError } from './errors.js';
import type { PinnedDir } from './pinned-dir.js';
import { renderPlaceholders, PlaceholderError, type PlaceholderContext } from './placeholders.js';
import type { ResolvedStep } from './service-spec.js';

/** Whom the service's files belong to; undefined: the agent's user. */
export interface FileOwner {
  uid: number;
  gid: number;
}

export interface NetworkLimits {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
  maxDownloadBytes: number;
  maxUnpackedBytes: number;
  maxEntries: number;
  userAgent: string;
}

export interface PrepareContext {
  coordinate: string;
  softwareDir: string;
  /** The runtime directory, pinned: the service owns it. */
  runtime: PinnedDir;
  /** The agent's own work directory on the same filesystem (mode 0700): nothing is assembled where the service can reach it. */
  staging: string;
  owner: FileOwner | undefined;
  placeholders: PlaceholderContext;
  net: NetworkLimits;
  signal: AbortSignal;
  logger: Logger;
}

const MAX_TEMPLATE_BYTES = 1024 * 1024;

const temp = (ctx: PrepareContext, suffix = ''): string =>
  join(ctx.staging, `${randomBytes(6).toString('hex')}${suffix}`);

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Gives the service its files: writable by their owner (copies from the
 * read-only software tree are not), owned by the service's account.
 * Symlinks are never followed.
 */
export async function ownTree(path: string, owner: FileOwner | undefined): Promise<void> {
  const info = await lstat(path);
  if (owner) await lchown(path, owner.uid, owner.gid);
  if (info.isSymbolicLink()) return;
  if (info.isDirectory()) {
    await chmod(path, 0o755);
    for (const name of await readdir(path)) await ownTree(join(path, name), owner);
  } else {
    await chmod(path, (info.mode & 0o777) | 0o644);
  }
}

/**
 * Pins the directory that holds `to`, making the directories on the way
 * (owned by the service). A symlink or file on the way is refused: the
 * service owns the runtime directory and must not point the agent's writes
 * elsewhere.
 */
async function parentOf(ctx: PrepareContext, to: string, step: number): Promise<PinnedDir> {
  try {
    return await ctx.runtime.descend(dirname(to), { mode: 0o755, owner: ctx.owner });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      throw new PrepareFailedError(
        ctx.coordinate,
        step,
        `${dirname(to)} is not a directory (a symlink or a file)`,
      );
    }
    throw err;
  }
}

/** Moves whatever is at `name` out of the service's reach, then deletes it. */
async function discard(ctx: PrepareContext, parent: PinnedDir, name: string): Promise<void> {
  const doomed = temp(ctx);
  await rename(parent.path(name), doomed);
  await removeTree(doomed);
}

async function copyStep(
  ctx: PrepareContext,
  step: Extract<ResolvedStep, { kind: 'copy' }>,
  i: number,
): Promise<PreparedStep['action']> {
  const source = join(ctx.softwareDir, step.from);
  if (!(await exists(source)))
    throw new PrepareFailedError(ctx.coordinate, i, `${step.from} is not in the artifact`);
  const parent = await parentOf(ctx, step.to, i);
  const name = basename(step.to);
  try {
    const there = await exists(parent.path(name));
    if (there && !step.overwrite) return 'kept';
    const work = temp(ctx);
    try {
      await cp(source, work, { recursive: true, verbatimSymlinks: true, errorOnExist: true, force: false });
      await ownTree(work, ctx.owner);
      if (there) await discard(ctx, parent, name);
      await parent.moveIn(work, name);
    } catch (err) {
      await removeTree(work).catch(() => undefined);
      throw err;
    }
    return 'copied';
  } finally {
    await parent.close();
  }
}

async function templateStep(
  ctx: PrepareContext,
  step: Extract<ResolvedStep, { kind: 'template' }>,
  i: number,
): Promise<PreparedStep['action']> {
  const source = join(ctx.softwareDir, step.from);
  let text: string;
  try {
    const info = await lstat(source);
    if (!info.isFile()) throw new PrepareFailedError(ctx.coordinate, i, `${step.from} is not a file`);
    if (info.size > MAX_TEMPLATE_BYTES)
      throw new PrepareFailedError(ctx.coordinate, i, `${step.from} is larger than 1 MiB`);
    text = await readFile(source, 'utf8');
  } catch (err) {
    if (err instanceof PrepareFailedError) throw err;
    throw new PrepareFailedError(ctx.coordinate, i, `${step.from} is not in the artifact`, { cause: err });
  }
  let rendered: string;
  try {
    rendered = renderPlaceholders(text, ctx.placeholders, step.from);
  } catch (err) {
    if (err instanceof PlaceholderError)
      throw new PrepareFailedError(ctx.coordinate, i, err.message, { cause: err });
    throw err;
  }
  const parent = await parentOf(ctx, step.to, i);
  const work = temp(ctx);
  try {
    await writeFile(work, rendered, { mode: 0o644, flag: 'wx' });
    await ownTree(work, ctx.owner);
    // A rename replaces a file (or a symlink) without following it.
    await parent.moveIn(work, basename(step.to));
  } catch (err) {
    await rm(work, { force: true });
    throw err;
  } finally {
    await parent.close();
  }
  return 'rendered';
}

async function archiveStep(
  ctx: PrepareContext,
  step: Extract<ResolvedStep, { kind: 'archive' }>,
  i: number,
): Promise<PreparedStep['action']> {
  const parent = await parentOf(ctx, step.to, i);
  const name = basename(step.to);
  const zip = temp(ctx, '.zip');
  const work = temp(ctx);
  const shownUrl = redactUrl(step.url);
  try {
    if (await exists(parent.path(name))) return 'kept';
    const [{ downloadFile }, { unpackZip }] = await Promise.all([
      import('../artifacts/download.js'),
      import('../artifacts/unpack.js'),
    ]);
    const downloaded = await downloadFile(step.url, zip, {
      connectTimeoutMs: ctx.net.connectTimeoutMs,
      idleTimeoutMs: ctx.net.idleTimeoutMs,
      retries: ctx.net.retries,
      retryDelayMs: ctx.net.retryDelayMs,
      maxBytes: ctx.net.maxDownloadBytes,
      signal: ctx.signal,
      userAgent: ctx.net.userAgent,
      logger: ctx.logger,
    });
    if (downloaded.sha256 !== step.sha256) {
      throw new PrepareFailedError(
        ctx.coordinate,
        i,
        `CHECKSUM_MISMATCH: ${shownUrl}: sha256 is ${downloaded.sha256}, expected ${step.sha256}`,
      );
    }
    await mkdir(work, { mode: 0o700 });
    await unpackZip(zip, work, {
      maxUnpackedBytes: ctx.net.maxUnpackedBytes,
      maxEntries: ctx.net.maxEntries,
      concurrency: 4,
      signal: ctx.signal,
    });
    await ownTree(work, ctx.owner);
    await parent.moveIn(work, name);
    ctx.logger.info('service state restored', {
      coordinate: ctx.coordinate,
      from: shownUrl,
      to: step.to,
      bytes: downloaded.bytes,
    });
    return 'restored';
  } catch (err) {
    await removeTree(work).catch(() => undefined);
    if (err instanceof PrepareFailedError) throw err;
    const reason = err instanceof UrError ? `${err.code}: ${err.message}` : String(err);
    throw new PrepareFailedError(ctx.coordinate, i, reason, { cause: err });
  } finally {
    await rm(zip, { force: true });
    await parent.close();
  }
}

/**
 * Runs the pre-population steps in order, stopping at the first failure
 * ({@link PrepareFailedError}). Each is idempotent: a copy or archive whose
 * target exists is kept (the service may have changed it since), a
 * template is rendered again; every write lands by rename, whole or not at
 * all.
 */
export async function prepareRuntime(
  steps: readonly ResolvedStep[],
  ctx: PrepareContext,
): Promise<PreparedStep[]> {
  const done: PreparedStep[] = [];
  for (const [i, step] of steps.entries()) {
    ctx.signal.throwIfAborted();
    let action: PreparedStep['action'];
    try {
      if (step.kind === 'copy') action = await copyStep(ctx, step, i);
      else if (step.kind === 'template') action = await templateStep(ctx, step, i);
      else action = await archiveStep(ctx, step, i);
    } catch (err) {
      if (err instanceof PrepareFailedError || ctx.signal.aborted) throw err;
      throw new PrepareFailedError(ctx.coordinate, i, String(err), { cause: err });
    }
    done.push({ step: i, to: step.to, action });
  }
  return done;
}
