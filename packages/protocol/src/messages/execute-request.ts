import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { RequestType } from '../constants.js';
import { CancelRequestSchema } from './cancel.js';
import {
  ArtifactInstallRequestSchema,
  ArtifactListRequestSchema,
  ArtifactRemoveRequestSchema,
} from './artifact.js';
import { MAX_TIMEOUT_SECONDS } from './common.js';
import {
  ServiceDrainRequestSchema,
  ServiceListRequestSchema,
  ServiceLogsRequestSchema,
  ServiceRestartRequestSchema,
  ServiceStartRequestSchema,
  ServiceStatusRequestSchema,
  ServiceStopRequestSchema,
} from './service.js';

/**
 * Requests published on `ur.execute.<node-id>.<request-id>`. Ur's shape is
 * `{type, script|file, args, env}`; fields Ur sent that we do not use
 * (timestamp, origin) are allowed and ignored, so the schemas stay open.
 */
const runOptions = {
  args: Type.Optional(Type.Array(Type.String(), { description: 'Arguments passed to the script or file.' })),
  env: Type.Optional(
    Type.Record(Type.String(), Type.String(), {
      description: "When present, the whole environment of the process (as in Ur); absent, the agent's.",
    }),
  ),
  secret_env: Type.Optional(
    Type.Array(Type.String(), {
      description:
        'Names of `env` variables whose values are secret: the headnode never logs or stores them ' +
        '(recorded requests show them as "***"). Ur agents ignore the field.',
    }),
  ),
  cwd: Type.Optional(Type.String({ minLength: 1, description: "Working directory; default the agent's." })),
  stdin: Type.Optional(Type.String({ description: "Written to the process's standard input." })),
  timeout: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: MAX_TIMEOUT_SECONDS,
      description: 'Seconds until the process group is killed (SIGTERM, then SIGKILL).',
    }),
  ),
  stream: Type.Optional(Type.Boolean({ description: 'Publish progress events while running.' })),
};

export const ScriptRequestSchema = Type.Object(
  {
    type: Type.Literal('script'),
    script: Type.String({ description: 'Script body; without a #! line it runs under /bin/sh.' }),
    ...runOptions,
  },
  { title: 'ScriptRequest' },
);
export type ScriptRequest = Static<typeof ScriptRequestSchema>;

export const FileRequestSchema = Type.Object(
  {
    type: Type.Literal('file'),
    file: Type.String({ minLength: 1, description: 'Path of an executable on the node.' }),
    ...runOptions,
  },
  { title: 'FileRequest' },
);
export type FileRequest = Static<typeof FileRequestSchema>;

/** Request schemas by `type`: the one place a new command type is registered. */
export const requestSchemas = {
  script: ScriptRequestSchema,
  file: FileRequestSchema,
  cancel: CancelRequestSchema,
  'artifact.install': ArtifactInstallRequestSchema,
  'artifact.remove': ArtifactRemoveRequestSchema,
  'artifact.list': ArtifactListRequestSchema,
  'service.start': ServiceStartRequestSchema,
  'service.stop': ServiceStopRequestSchema,
  'service.drain': ServiceDrainRequestSchema,
  'service.restart': ServiceRestartRequestSchema,
  'service.status': ServiceStatusRequestSchema,
  'service.list': ServiceListRequestSchema,
  'service.logs': ServiceLogsRequestSchema,
} as const satisfies Record<RequestType, TSchema>;

export const ExecuteRequestSchema = Type.Union([
  ScriptRequestSchema,
  FileRequestSchema,
  CancelRequestSchema,
  ArtifactInstallRequestSchema,
  ArtifactRemoveRequestSchema,
  ArtifactListRequestSchema,
  ServiceStartRequestSchema,
  ServiceStopRequestSchema,
  ServiceDrainRequestSchema,
  ServiceRestartRequestSchema,
  ServiceStatusRequestSchema,
  ServiceListRequestSchema,
  ServiceLogsRequestSchema,
]);
export type ExecuteRequest = Static<typeof ExecuteRequestSchema>;
