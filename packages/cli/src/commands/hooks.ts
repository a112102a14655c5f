import type { HeadnodeClient } from '../client.js';
import { ago, plainTable } from '../format.js';
import type { CliIo } from '../io.js';

export async function addHook(
  client: HeadnodeClient,
  io: CliIo,
  options: {
    url: string;
    events: string[];
    secret: string | undefined;
    description: string | undefined;
    json: boolean;
  },
): Promise<number> {
  const hook = await client.addHook({
    url: options.url,
    events: options.events,
    ...(options.secret === undefined ? {} : { secret: options.secret }),
    ...(options.description === undefined ? {} : { description: options.description }),
  });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(hook, null, 2)}\n`);
  } else {
    io.stdout.write(`hook ${hook.id} → ${hook.url} (${hook.events.join(', ')})\n`);
    io.stdout.write(`secret: ${hook.secret}\n`);
    io.stderr.write(
      'urctl: verify X-Ur-Signature (sha256=HMAC-SHA256 of the body) with this secret; it is not shown again\n',
    );
  }
  return 0;
}

export async function listHooks(client: HeadnodeClient, io: CliIo, json: boolean): Promise<number> {
  const { hooks } = await client.listHooks();
  if (json) {
    io.stdout.write(`${JSON.stringify(hooks, null, 2)}\n`);
    return 0;
  }
  if (hooks.length === 0) {
    io.stderr.write('no webhooks\n');
    return 0;
  }
  const table = plainTable(['ID', 'URL', 'EVENTS', 'PENDING', 'FAILED', 'CREATED']);
  for (const h of hooks)
    table.push([h.id, h.url, h.events.join(','), h.pending, h.failed, ago(h.created_at)]);
  io.stdout.write(`${table.toString()}\n`);
  return 0;
}

export async function removeHook(client: HeadnodeClient, io: CliIo, id: string): Promise<number> {
  await client.deleteHook(id);
  io.stdout.write(`hook ${id} removed\n`);
  return 0;
}

export async function hookDeliveries(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  options: { status: string | undefined; limit: number | undefined; json: boolean },
): Promise<number> {
  const { deliveries } = await client.hookDeliveries(id, { status: options.status, limit: options.limit });
  if (options.json) {
    io.stdout.write(`${JSON.stringify(deliveries, null, 2)}\n`);
    return 0;
  }
  const table = plainTable(['DELIVERY', 'EVENT', 'TYPE', 'STATUS', 'ATTEMPTS', 'LAST', 'AT']);
  for (const d of deliveries) {
    const last = d.last_error ?? (d.last_status === null ? '-' : `HTTP ${d.last_status}`);
    table.push([
      d.id,
      d.event_id,
      d.event_type,
      d.status,
      d.attempts,
      last,
      ago(d.last_attempt_at ?? d.created_at),
    ]);
  }
  io.stdout.write(`${table.toString()}\n`);
  return 0;
}
