#!/usr/bin/env node
import { createLogger, exitOnError, runService } from '@ur/runtime';
import { parseHeadnodeConfig } from '../config.js';
import { Headnode } from '../headnode.js';

const config = await parseHeadnodeConfig(process.argv.slice(2)).catch(exitOnError('ur-headnode'));
const logger = createLogger({ service: 'ur-headnode', level: config.logLevel, format: config.logFormat });
const headnode = new Headnode({ ...config.options, logger });
await runService({
  name: 'ur-headnode',
  logger,
  start: () => headnode.start(),
  stop: () => headnode.stop(),
}).catch(exitOnError('ur-headnode'));
