#!/usr/bin/env node
import { createLogger, exitOnError, runService } from '@ur/runtime';
import { Agent } from '../agent.js';
import { parseAgentConfig } from '../config.js';

const config = await parseAgentConfig(process.argv.slice(2)).catch(exitOnError('ur-agent'));
const logger = createLogger({ service: 'ur-agent', level: config.logLevel, format: config.logFormat });
const agent = new Agent({ ...config.options, logger });
await runService({
  name: 'ur-agent',
  logger,
  start: async () => {
    await agent.start();
    logger.info('agent started', { nodeId: agent.nodeId });
  },
  stop: (reason) => agent.stop(reason),
}).catch(exitOnError('ur-agent'));
