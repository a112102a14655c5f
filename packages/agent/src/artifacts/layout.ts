import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  formatCoordinate,
  isCoordinate,
  type ArtifactCoordinate,
  type InstalledArtifact,
  type Logger,
} from '@ur/protocol/wire';
import { METADATA_FILE } from './entry-path.js';

/**
 * Where things are under `<prefix>/software/`: versions at
 * `<groupId>/<artifactId>/<version>/`, work in progress in `.staging/` and
 * removals in `.trash/`. Both are on the same filesystem as the versions, so
 * the final rename is atomic; coordinates cannot start with a dot, so they
 * never collide with them.
 */
export interface StoreLayout {
  software: string;
  staging: string;
  trash: string;
}

export function storeLayout(prefix: string): StoreLayout {
  const software = join(prefix, 'software');
  return { software, staging: join(software, '.staging'), trash: join(software, '.trash') };
}

export function versionDir(layout: StoreLayout, c: ArtifactCoordinate): string {
  return join(layout.software, c.groupId, c.artifactId, c.version);
}

/** What the agent records in `<version>/.ur-artifact.json` before the version appears. */
export type ArtifactMetadata = Omit<InstalledArtifact, 'path'> & { format: 1 };

export function metadataOf(artifact: InstalledArtifact): ArtifactMetadata {
  const { path: _path, ...rest } = artifact;
  return { ...rest, format: 1 };
}

export async function readMetadata(dir: string): Promise<InstalledArtifact | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, METADATA_FILE), 'utf8');
  } catch (err) {
    if (
      (err as NodeJS.ErrnoException).code === 'ENOENT' ||
      (err as NodeJS.ErrnoException).code === 'ENOTDIR'
    ) {
      return undefined;
    }
    throw err;
  }
  const { format: _format, ...meta } = JSON.parse(text) as ArtifactMetadata;
  return { ...meta, path: dir };
}

async function subdirs(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every installed version, sorted by coordinate. Directories without metadata are not ours. */
export async function scanInstalled(layout: StoreLayout, logger: Logger): Promise<InstalledArtifact[]> {
  const found: InstalledArtifact[] = [];
  for (const groupId of await subdirs(layout.software)) {
    for (const artifactId of await subdirs(join(layout.software, groupId))) {
      for (const version of await subdirs(join(layout.software, groupId, artifactId))) {
        const coordinate = formatCoordinate({ groupId, artifactId, version });
        const dir = join(layout.software, groupId, artifactId, version);
        if (!isCoordinate(coordinate)) continue;
        try {
          const meta = await readMetadata(dir);
          if (meta) found.push(meta);
          else logger.warn('not an installed artifact (no metadata); ignored', { path: dir });
        } catch (err) {
          logger.warn('unreadable artifact metadata; ignored', { path: dir, error: String(err) });
        }
      }
    }
  }
  return found.sort((a, b) => a.coordinate.localeCompare(b.coordinate));
}
