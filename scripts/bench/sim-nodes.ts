// Many simulated nodes in one process: real Agent instances from @ur/agent,
// each with its own AMQP connection, node id, prefix and sysinfo fixture.
// Prints "READY n" when all have announced; stops them all on SIGTERM.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent } from '@ur/agent';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    exchange: { type: 'string' },
    first: { type: 'string' },
    count: { type: 'string' },
    prefix: { type: 'string' },
    'id-prefix': { type: 'string' },
  },
});
const first = Number(values.first ?? 0);
const count = Number(values.count);
const idPrefix = values['id-prefix'] ?? 'sim';
const BATCH = 50;

const agents: Agent[] = [];
for (let start = 0; start < count; start += BATCH) {
  const batch = Array.from({ length: Math.min(BATCH, count - start) }, (_, k) => {
    const i = first + start + k;
    const nodeId = `${idPrefix}-${i}`;
    return new Agent({
      amqpUrl: values.url,
      exchange: values.exchange,
      nodeId,
      prefix: join(values.prefix ?? '/tmp', nodeId),
      probeHardware: false,
      requestQueueExpiryMs: 120_000,
      rebootCommand: 'true',
      // Hundreds of agents share one host: no status HTTP port each.
      statusPort: 0,
      sysinfo: {
        UUID: nodeId,
        Hostname: `sim-${i}`,
        'System Type': 'Linux',
        'CPU Total Cores': 8,
        'MiB of Memory': '16384',
      },
    });
  });
  await Promise.all(batch.map((a) => a.start()));
  agents.push(...batch);
}
process.stdout.write(`READY ${agents.length}\n`);

process.on('SIGTERM', () => {
  void (async () => {
    for (let i = 0; i < agents.length; i += 200) {
      await Promise.all(agents.slice(i, i + 200).map((a) => a.stop('bench done')));
    }
    process.stdout.write('STOPPED\n');
    process.exit(0);
  })();
});
