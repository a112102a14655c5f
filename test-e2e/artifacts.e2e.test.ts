import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArtifactInstallResponse, InstalledArtifact, ProgressEvent } from '@ur/protocol';
import {
  ArtifactRepository,
  brokerUrl,
  deleteBrokerObjects,
  freePort,
  makeZip,
  startProcess,
  uniqueExchange,
  uniqueNodeId,
  waitFor,
  WireClient,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN, URCTL_BIN, run } from './bins.js';

// The built ur-headnode, ur-agent and urctl, installing from a real HTTP repository.
const exchange = uniqueExchange('ur.e2e-artifacts');
let dir: string;
let repo: ArtifactRepository;
let headnode: StartedProcess;
let headnodeUrl: string;
const agents: StartedProcess[] = [];

function startAgent(id: string, prefix: string): StartedProcess {
  const agent = startProcess(
    'node',
    [
      ...AGENT_LAUNCH,
      '--node-id',
      id,
      '--prefix',
      prefix,
      '--exchange',
      exchange,
      '--artifact-repo',
      repo.url,
    ],
    { UR_AMQP_URL: brokerUrl(), UR_LOG_LEVEL: 'debug' },
  );
  agents.push(agent);
  return agent;
}

const urctl = (...args: string[]) => run('node', [URCTL_BIN, ...args], { UR_HEADNODE_URL: headnodeUrl });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-artifacts-'));
  repo = await ArtifactRepository.start();
  const port = await freePort();
  headnodeUrl = `http://127.0.0.1:${port}`;
  headnode = startProcess(
    'node',
    [HEADNODE_BIN, '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'headnode.db'), '--exchange', exchange],
    { UR_AMQP_URL: brokerUrl() },
  );
  await headnode.waitForOutput('headnode listening');
});

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await headnode.stop();
  await repo.close();
  await deleteBrokerObjects({ exchanges: [exchange], queues: [`ur.headnode.${exchange}`] });
  await rm(dir, { recursive: true, force: true });
});

describe('urctl artifacts', () => {
  const node = uniqueNodeId('e2e-art');
  const coordinate = 'com.example:tool:1.2.3';

  beforeAll(async () => {
    repo.publish(
      coordinate,
      await makeZip([
        { name: 'bin/tool', data: '#!/bin/sh\necho tool $1\n', mode: 0o100755 },
        { name: 'etc/tool.conf', data: 'x=1\n' },
      ]),
    );
    startAgent(node, join(dir, node));
    await waitFor('the node in the inventory', async () =>
      (await urctl('node', 'show', node)).code === 0 ? true : undefined,
    );
  });

  it('installs, lists and shows the artifact in the node inventory', async () => {
    const installed = await urctl('artifacts', 'install', '--node', node, coordinate);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toMatch(
      new RegExp(`^installed ${coordinate} on ${node}: \\S+/software/com.example/tool/1.2.3 \\(2 files`),
    );

    const again = await urctl('artifacts', 'install', '--node', node, coordinate, '--json');
    expect(again.code).toBe(0);
    expect((JSON.parse(again.stdout) as ArtifactInstallResponse).already_installed).toBe(true);

    const table = await urctl('artifacts', 'list', '--node', node);
    expect(table.stdout).toMatch(/^COORDINATE\s+SIZE\s+INSTALLED\s+SHA256/);
    expect(table.stdout).toContain(coordinate);
    const json = JSON.parse(
      (await urctl('artifacts', 'list', '--node', node, '--json')).stdout,
    ) as InstalledArtifact[];
    expect(json.map((a) => a.coordinate)).toEqual([coordinate]);

    const path = json[0]!.path;
    const ran = await urctl('exec', '--node', node, '--file', join(path, 'bin/tool'), '--', 'works');
    expect(ran).toMatchObject({ code: 0, stdout: 'tool works\n' });

    await waitFor('the inventory to show it', async () =>
      (await urctl('node', 'show', node)).stdout.includes(`  ${coordinate} (`) ? true : undefined,
    );
  });

  it('draws a progress bar on a terminal', async () => {
    const big = 'com.example:big:1.0.0';
    repo.publish(
      big,
      await makeZip(Array.from({ length: 500 }, (_, i) => ({ name: `f${i}`, data: 'x'.repeat(2000) }))),
    );
    // script(1) gives urctl a pseudo-terminal as stdout.
    const result = await run(
      'script',
      ['-qec', `node ${URCTL_BIN} artifacts install --node ${node} ${big}`, '/dev/null'],
      {
        UR_HEADNODE_URL: headnodeUrl,
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/unpacking \[[█░]+\]/);
    expect(result.stdout).toContain(`installed ${big}`);
  });

  it('exits with sysexits codes and one line on stderr on failures', async () => {
    const bad = await urctl('artifacts', 'install', '--node', node, 'no-colons');
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/^urctl: INVALID_COORDINATE: /);
    const missing = await urctl('artifacts', 'install', '--node', node, 'com.example:missing:1');
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('ARTIFACT_NOT_FOUND');
    const wrong = await urctl('artifacts', 'install', '--node', node, coordinate, '--sha256', '0'.repeat(64));
    expect(wrong.code).toBe(65); // installed, from an archive with another checksum
    expect(wrong.stderr).toContain('CHECKSUM_MISMATCH');
  });

  it('removes; removing again says it is not installed', async () => {
    const removed = await urctl('artifacts', 'remove', '--node', node, coordinate);
    expect(removed).toMatchObject({ code: 0, stdout: `removed ${coordinate} from ${node}\n` });
    const again = await urctl('artifacts', 'remove', '--node', node, coordinate);
    expect(again.code).toBe(66);
    expect(again.stderr).toContain('ARTIFACT_NOT_INSTALLED');
  });
});

describe('an agent killed while unpacking', () => {
  it('leaves no partial version, and cleans staging when it starts again', async () => {
    const node = uniqueNodeId('e2e-kill');
    const prefix = join(dir, node);
    const coordinate = 'com.example:many:1.0.0';
    const entries = Array.from({ length: 10_000 }, (_, i) => ({
      name: `d${i % 100}/f${i}`,
      data: `${i}\n`.repeat(50),
    }));
    repo.publish(coordinate, await makeZip(entries));
    const wire = await WireClient.connect(brokerUrl(), exchange);
    try {
      await wire.listen(`ur.execute-progress.${node}.*`);
      const agent = startAgent(node, prefix);
      await agent.waitForOutput('agent started');
      wire.publish(`ur.execute.${node}.kill-1`, { type: 'artifact.install', coordinate, stream: true });
      await wire.waitFor(
        'unpacking to start',
        (m) => (m.body as ProgressEvent).progress?.unit === 'entries',
        30_000,
      );
      agent.child.kill('SIGKILL');
      await agent.exited;

      const version = join(prefix, 'software/com.example/many/1.0.0');
      const staging = join(prefix, 'software/.staging');
      expect(existsSync(version)).toBe(false);
      expect((await readdir(staging)).length).toBe(1); // the half-unpacked work, killed mid-way

      const again = startAgent(node, prefix);
      await again.waitForOutput('agent started');
      expect(await readdir(staging)).toEqual([]);
      expect(existsSync(version)).toBe(false);
      expect(again.output()).toContain('removed unfinished artifact work');

      const reply = await wire.execute(node, { type: 'artifact.install', coordinate }, 'kill-2', 120_000);
      expect(reply.body).toMatchObject({
        exit_status: 0,
        result: { files: 10_000, already_installed: false },
      });
      expect(await readdir(staging)).toEqual([]);
    } finally {
      await wire.close();
    }
  });
});
