import type { RequestType } from '@ur/protocol/wire';
import { runCancelCommand } from './cancel-command.js';
import { runArtifactInstall, runArtifactList, runArtifactRemove } from './artifact-commands.js';
import type { CommandHandler } from './command.js';
import { runProcessCommand } from './process-command.js';
import {
  runServiceDrain,
  runServiceList,
  runServiceLogs,
  runServiceRestart,
  runServiceStart,
  runServiceStatus,
  runServiceStop,
} from './service-commands.js';

/** One handler per request type; the compiler insists every type has one. */
export const commandHandlers: { [T in RequestType]: CommandHandler<T> } = {
  script: runProcessCommand,
  file: runProcessCommand,
  cancel: runCancelCommand,
  'artifact.install': runArtifactInstall,
  'artifact.remove': runArtifactRemove,
  'artifact.list': runArtifactList,
  'service.start': runServiceStart,
  'service.stop': runServiceStop,
  'service.drain': runServiceDrain,
  'service.restart': runServiceRestart,
  'service.status': runServiceStatus,
  'service.list': runServiceList,
  'service.logs': runServiceLogs,
};
