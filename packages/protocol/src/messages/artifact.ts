import { Type, type Static } from '@sinclair/typebox';
import { MAX_TIMEOUT_SECONDS } from './common.js';

/**
 * The software-artifact commands (as Nodee's: install, remove, list), sent
 * like any request on `ur.execute.<node>.<req>`. Their replies carry Ur's
 * `{exit_status, stdout, stderr}` plus a typed `result` (schemas below).
 */
const Coordinate = Type.String({
  minLength: 5,
  maxLength: 400,
  description:
    "groupId:artifactId:version; each part letters, digits, '.', '_', '-', starting with a letter or digit, no '..'.",
});

const Sha256 = Type.String({ pattern: '^[A-Fa-f0-9]{64}$', description: 'SHA-256 of the zip file, hex.' });

const commandOptions = {
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_SECONDS,
      description: 'Seconds until the agent gives up (the install is rolled back).',
    }),
  ),
  stream: Type.Optional(Type.Boolean({ description: 'Publish progress events (bytes, then entries).' })),
};

export const ArtifactInstallRequestSchema = Type.Object(
  {
    type: Type.Literal('artifact.install'),
    coordinate: Coordinate,
    url: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "The zip's URL; default <repository>/<groupId>/<artifactId>/<version>/<artifactId>-<version>.zip.",
      }),
    ),
    sha256: Type.Optional(Sha256),
    ...commandOptions,
  },
  { title: 'ArtifactInstallRequest' },
);
export type ArtifactInstallRequest = Static<typeof ArtifactInstallRequestSchema>;

export const ArtifactRemoveRequestSchema = Type.Object(
  {
    type: Type.Literal('artifact.remove'),
    coordinate: Coordinate,
    force: Type.Optional(Type.Boolean({ description: 'Remove even if a running service uses it.' })),
    ...commandOptions,
  },
  { title: 'ArtifactRemoveRequest' },
);
export type ArtifactRemoveRequest = Static<typeof ArtifactRemoveRequestSchema>;

export const ArtifactListRequestSchema = Type.Object(
  { type: Type.Literal('artifact.list'), ...commandOptions },
  { title: 'ArtifactListRequest' },
);
export type ArtifactListRequest = Static<typeof ArtifactListRequestSchema>;

/** What a node says about one installed version (also in its sysinfo, as "Ur Artifacts"). */
export const ArtifactSummarySchema = Type.Object(
  {
    coordinate: Type.String(),
    size: Type.Integer({ minimum: 0, description: 'Unpacked bytes.' }),
    sha256: Type.Union([Type.String(), Type.Null()], { description: 'Of the zip; null if none was known.' }),
    installed_at: Type.String({ description: 'ISO 8601 time.' }),
  },
  { title: 'ArtifactSummary' },
);
export type ArtifactSummary = Static<typeof ArtifactSummarySchema>;

export const InstalledArtifactSchema = Type.Composite(
  [
    ArtifactSummarySchema,
    Type.Object({
      group_id: Type.String(),
      artifact_id: Type.String(),
      version: Type.String(),
      path: Type.String({ description: '<prefix>/software/<groupId>/<artifactId>/<version>' }),
      files: Type.Integer({ minimum: 0, description: 'Files, directories and symlinks unpacked.' }),
      download_bytes: Type.Integer({ minimum: 0, description: 'Size of the zip.' }),
      source: Type.String({ description: 'The URL it was downloaded from (credentials removed).' }),
    }),
  ],
  { title: 'InstalledArtifact' },
);
export type InstalledArtifact = Static<typeof InstalledArtifactSchema>;

export const ArtifactInstallResultSchema = Type.Composite(
  [
    InstalledArtifactSchema,
    Type.Object({
      already_installed: Type.Boolean({ description: 'Nothing was done: that version was there.' }),
    }),
  ],
  { title: 'ArtifactInstallResult' },
);
export type ArtifactInstallResult = Static<typeof ArtifactInstallResultSchema>;

export const ArtifactRemoveResultSchema = Type.Object(
  {
    coordinate: Type.String(),
    path: Type.String(),
    forced: Type.Boolean({ description: 'It was in use and removed because of force.' }),
  },
  { title: 'ArtifactRemoveResult' },
);
export type ArtifactRemoveResult = Static<typeof ArtifactRemoveResultSchema>;

export const ArtifactListResultSchema = Type.Object(
  { artifacts: Type.Array(InstalledArtifactSchema) },
  { title: 'ArtifactListResult' },
);
export type ArtifactListResult = Static<typeof ArtifactListResultSchema>;
