import type { HeadnodeClient } from '../client.js';
import { nodeDetails, nodesTable } from '../format.js';
import type { CliIo } from '../io.js';

export async function listNodes(client: HeadnodeClient, io: CliIo, json: boolean): Promise<number> {
  const { nodes } = await client.listNodes();
  if (json) {
    io.stdout.write(`${JSON.stringify(nodes, null, 2)}\n`);
  } else if (nodes.length === 0) {
    io.stderr.write('no nodes yet: start ur-agent on a node pointed at the same broker\n');
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
