import type { NodeDetail } from '@ur/protocol';
import type { HeadnodeClient } from '../client.js';
import type { CliIo } from '../io.js';

function describe(node: NodeDetail): string {
  if (node.public_key === null) return `${node.id}: no key pinned; the node's next announcement pins one`;
  return `${node.id}: key ${node.key_status} ${node.public_key}`;
}

export async function trustNodeKey(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  json: boolean,
): Promise<number> {
  const node = await client.trustNode(id);
  io.stdout.write(json ? `${JSON.stringify(node, null, 2)}\n` : `${describe(node)}\n`);
  return 0;
}

export async function forgetNodeKey(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  json: boolean,
): Promise<number> {
  const node = await client.forgetNode(id);
  io.stdout.write(json ? `${JSON.stringify(node, null, 2)}\n` : `${describe(node)}\n`);
  return 0;
}
