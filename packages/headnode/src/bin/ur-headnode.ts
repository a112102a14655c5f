#!/usr/bin/env node
import { configOrExit, createLogger, exitOnError, runService } from '@ur/runtime';
import { runAdminCommand } from '../admin/run-admin.js';
import { parseHeadnodeConfig } from '../config.js';
import { Headnode } from '../headnode.js';

// `ur-headnode keygen ...` and `ur-headnode tokens ...` run and exit; anything else is the server.
const status = await runAdminCommand(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
if (status !== undefined) {
  process.exitCode = status;
} else {
  const config = configOrExit('ur-headnode', () => parseHeadnodeConfig(process.argv.slice(2)));
  const logger = createLogger({ service: 'ur-headnode', level: config.logLevel, format: config.logFormat });
  const headnode = configOrExit('ur-headnode', () => new Headnode({ ...config.options, logger }));
  await runService({
    name: 'ur-headnode',
    logger,
    start: () => headnode.start(),
    stop: () => headnode.stop(),
  }).catch(exitOnError('ur-headnode'));
}
