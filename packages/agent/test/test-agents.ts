import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, type AgentOptions } from '@ur/agent';
import type { ExecuteReply } from '@ur/protocol';
import { brokerUrl, deleteBrokerObjects, uniqueExchange, uniqueNodeId, WireClient } from '@ur/testkit';

/**
 * One exchange, one wire client and a temporary prefix per test file, and
 * agents that are stopped at the end.
 */
export class TestAgents {
  readonly exchange = uniqueExchange();
  dir = '';
  client!: WireClient;
  readonly #agents: Agent[] = [];

  async setUp(): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'ur-agent-test-'));
    this.client = await WireClient.connect(brokerUrl(), this.exchange);
  }

  async tearDown(): Promise<void> {
    await Promise.all(this.#agents.map((a) => a.stop()));
    await this.client.close();
    await deleteBrokerObjects({ exchanges: [this.exchange] });
    await rm(this.dir, { recursive: true, force: true });
  }

  create(nodeId = uniqueNodeId(), extra: AgentOptions = {}): Agent {
    const agent = new Agent({
      amqpUrl: brokerUrl(),
      exchange: this.exchange,
      nodeId,
      prefix: join(this.dir, nodeId),
      heartbeatIntervalMs: 1_000,
      probeHardware: false,
      reconnectInitialDelayMs: 50,
      reconnectMaxDelayMs: 500,
      statusPort: 0,
      ...extra,
    });
    this.#agents.push(agent);
    return agent;
  }

  async start(nodeId?: string, extra: AgentOptions = {}): Promise<Agent> {
    const agent = this.create(nodeId, extra);
    await agent.start();
    return agent;
  }
}

export const replyOf = (m: { body: unknown }): ExecuteReply => m.body as ExecuteReply;

/** Live (non-zombie) processes whose command line contains `marker`. */
export function processesMatching(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'stat=,args='])
    .toString()
    .split('\n')
    .filter((row) => row.includes(marker) && !row.trim().startsWith('Z'));
}
