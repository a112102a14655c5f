export { ConfigError } from './config-error.js';
export {
  HelpRequested,
  booleanFlag,
  oneOf,
  parseFlags,
  usageText,
  positiveNumber,
  positiveOption,
  type FlagSpec,
  type FlagTable,
  type ParseFlagsOptions,
} from './flags.js';
export {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type LoggerOptions,
  type LogLevel,
} from './logger.js';
export { configOrExit, exitOnError, runService, type ServiceHooks } from './run-service.js';
export { readSecretFile, SecretFileModeError } from './secret-file.js';
