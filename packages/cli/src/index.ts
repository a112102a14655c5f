export { runCli } from './cli.js';
export { HeadnodeClient, HeadnodeError, HeadnodeUnreachableError } from './client.js';
export { execBody, type ExecArgs } from './commands/exec.js';
export { exitCodeFor, ExitCodes } from './exit-codes.js';
export { ago, nodesTable } from './format.js';
export type { CliIo } from './io.js';
