import type { NodeSummary } from '@ur/protocol';
import type { HeadnodeClient } from '../client.js';
import { nodeDetails, nodesTable, transitionsTable } from '../format.js';
import type { CliIo } from '../io.js';

/** Every node the selector picks, following the API's pages. */
async function allNodes(client: HeadnodeClient, where: string | undefined): Promise<NodeSummary[]> {
  const nodes: NodeSummary[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await client.listNodes({ where, after });
    nodes.push(...page.nodes);
    if (page.next === null || page.nodes.length === 0) return nodes;
    after = page.next;
  }
}

export async function listNodes(
  client: HeadnodeClient,
  io: CliIo,
  options: { json: boolean; where: string | undefined },
): Promise<number> {
  const nodes = await allNodes(client, options.where);
  if (options.json) {
    io.stdout.write(`${JSON.stringify(nodes, null, 2)}\n`);
  } else if (nodes.length === 0) {
    io.stderr.write(
      options.where === undefined
        ? 'no nodes yet: start ur-agent on a node pointed at the same broker\n'
        : `no node matches ${JSON.stringify(options.where)}\n`,
    );
  } else {
    io.stdout.write(`${nodesTable(nodes)}\n`);
  }
  return 0;
}

export async function showNode(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  json: boolean,
): Promise<number> {
  const node = await client.getNode(id);
  io.stdout.write(json ? `${JSON.stringify(node, null, 2)}\n` : `${nodeDetails(node)}\n`);
  return 0;
}

/** `key=value` sets a label, `key-` removes it (as kubectl label). */
export function parseLabelArgs(args: readonly string[]): Record<string, string | null> | string {
  const labels: Record<string, string | null> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq > 0) labels[arg.slice(0, eq)] = arg.slice(eq + 1);
    else if (arg.endsWith('-') && arg.length > 1) labels[arg.slice(0, -1)] = null;
    else return `expected key=value or key-, got ${JSON.stringify(arg)}`;
  }
  return labels;
}

export async function labelNode(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  labels: Record<string, string | null>,
  json: boolean,
): Promise<number> {
  const node = await client.patchNode(id, { labels });
  const text = Object.entries(node.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  io.stdout.write(
    json ? `${JSON.stringify(node.labels, null, 2)}\n` : `${node.id}: ${text || '(no labels)'}\n`,
  );
  return 0;
}

export async function nodeTransitions(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  options: { json: boolean; limit: number | undefined },
): Promise<number> {
  const { transitions } = await client.transitions(id, options.limit);
  io.stdout.write(
    options.json ? `${JSON.stringify(transitions, null, 2)}\n` : `${transitionsTable(transitions)}\n`,
  );
  return 0;
}
