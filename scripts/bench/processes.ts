import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProcess, type StartedProcess } from '@ur/testkit';
import { AGENT_NODE_FLAGS } from '@ur/agent';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const AGENT_BIN = join(ROOT, 'packages/agent/dist/ur-agent.mjs');
const HEADNODE_BIN = join(ROOT, 'packages/headnode/dist/bin/ur-headnode.js');

export interface AgentProcessOptions {
  url: string;
  exchange: string;
  nodeId: string;
  prefix: string;
}

/** A real ur-agent process, as on a node. */
export function startAgentProcess(o: AgentProcessOptions): StartedProcess {
  return startProcess(
    'node',
    [
      ...AGENT_NODE_FLAGS,
      AGENT_BIN,
      '--node-id',
      o.nodeId,
      '--prefix',
      o.prefix,
      '--exchange',
      o.exchange,
      '--reboot-command',
      'true',
    ],
    { UR_AMQP_URL: o.url, UR_LOG_LEVEL: 'warn' },
  );
}

export interface HeadnodeProcessOptions {
  url: string;
  exchange: string;
  db: string;
  port: number;
  queue: string;
}

/** A real ur-headnode process; resolves once it listens. */
export async function startHeadnodeProcess(o: HeadnodeProcessOptions): Promise<StartedProcess> {
  const headnode = startProcess(
    'node',
    [
      HEADNODE_BIN,
      '--exchange',
      o.exchange,
      '--db',
      o.db,
      '--listen',
      `127.0.0.1:${o.port}`,
      '--queue',
      o.queue,
      '--queue-expiry',
      '600',
    ],
    { UR_AMQP_URL: o.url, UR_LOG_LEVEL: 'info' },
  );
  await headnode.waitForOutput('headnode listening', 20_000);
  return headnode;
}
