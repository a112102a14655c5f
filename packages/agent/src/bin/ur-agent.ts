#!/usr/bin/env node
import './v8-flags.js';
import { configOrExit, createLogger, exitOnError, runService } from '@ur/runtime';
import { Agent } from '../agent.js';
import { parseAgentConfig } from '../config.js';

const config = configOrExit('ur-agent', () => parseAgentConfig(process.argv.slice(2)));
const logger = createLogger({ service: 'ur-agent', level: config.logLevel, format: config.logFormat });
const agent = configOrExit('ur-agent', () => new Agent({ ...config.options, logger }));
// Key rotation without a restart: edit the trusted-keys file, then kill -HUP.
process.on('SIGHUP', () => void agent.reloadTrustedKeys());
await runService({
  name: 'ur-agent',
  logger,
  start: async () => {
    await agent.start();
    logger.info('agent started', { nodeId: agent.nodeId });
  },
  stop: (reason) => agent.stop(reason),
}).catch(exitOnError('ur-agent'));
