#!/usr/bin/env node
import { configOrExit, createLogger, exitOnError, runService } from '@ur/runtime';
import { parseHeadnodeConfig } from '../config.js';
import { Headnode } from '../headnode.js';

const config = configOrExit('ur-headnode', () => parseHeadnodeConfig(process.argv.slice(2)));
const logger = createLogger({ service: 'ur-headnode', level: config.logLevel, format: config.logFormat });
const headnode = configOrExit('ur-headnode', () => new Headnode({ ...config.options, logger }));
await runService({
  name: 'ur-headnode',
  logger,
  start: () => headnode.start(),
  stop: () => headnode.stop(),
}).catch(exitOnError('ur-headnode'));
