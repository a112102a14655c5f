import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  freePort,
  startPrivateBroker,
  startProcess,
  uniqueNodeId,
  waitFor,
  type PrivateBroker,
  type StartedProcess,
} from '@ur/testkit';
import { AGENT_LAUNCH, HEADNODE_BIN, URCTL_BIN, run } from './bins.js';

const exec = promisify(execFile);

// A RabbitMQ node of its own that speaks only TLS and wants client
// certificates, with a CA made here by openssl. The shared broker is never
// touched; this node is stopped (and only this one) at the end.
let dir: string;
let broker: PrivateBroker | undefined;
let amqpsUrl: string;
let headnodeUrl: string;
const processes: StartedProcess[] = [];

async function openssl(...args: string[]): Promise<void> {
  await exec('openssl', args, { cwd: dir });
}

/** A CA, a server certificate for localhost and a client certificate, each with its key. */
async function makeCertificates(): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=ur-test-ca',
  );
  await writeFile(join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const [name, cn, ext] of [
    ['server', 'localhost', ['-extfile', 'san.ext']],
    ['client', 'ur-test-client', []],
  ] as const) {
    await openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    await openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      ...ext,
    );
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-e2e-tls-'));
  await makeCertificates();
  // The broker runs as the rabbitmq user and reads the certificates from here.
  await chmod(dir, 0o755);
  await exec('chown', ['-R', 'rabbitmq:rabbitmq', dir]);
  const tlsPort = await freePort();
  broker = await startPrivateBroker({
    tag: 'urtls',
    config: () => [
      'listeners.tcp = none',
      `listeners.ssl.default = 127.0.0.1:${tlsPort}`,
      `ssl_options.cacertfile = ${join(dir, 'ca.pem')}`,
      `ssl_options.certfile = ${join(dir, 'server.pem')}`,
      `ssl_options.keyfile = ${join(dir, 'server.key')}`,
      'ssl_options.verify = verify_peer',
      'ssl_options.fail_if_no_peer_cert = true',
    ],
  });
  amqpsUrl = `amqps://guest:guest@localhost:${tlsPort}`;
}, 90_000);

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop()));
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

const tls = (name: string): string[] => [
  '--tls-ca',
  join(dir, 'ca.pem'),
  '--tls-cert',
  join(dir, `${name}.pem`),
  '--tls-key',
  join(dir, `${name}.key`),
];

describe('amqps:// with a CA and client certificates', () => {
  const node = uniqueNodeId('tls');

  it('runs the headnode and an agent over TLS, end to end', async () => {
    const port = await freePort();
    headnodeUrl = `http://127.0.0.1:${port}`;
    const headnode = startProcess(
      'node',
      [HEADNODE_BIN, '--listen', `127.0.0.1:${port}`, '--db', join(dir, 'hn.db'), ...tls('client')],
      { UR_AMQP_URL: amqpsUrl },
    );
    processes.push(headnode);
    await headnode.waitForOutput('headnode listening', 20_000);
    // The agent takes the same settings from its environment.
    const agent = startProcess(
      'node',
      [...AGENT_LAUNCH, '--node-id', node, '--prefix', join(dir, node), '--status-port', 'off'],
      {
        UR_AMQP_URL: amqpsUrl,
        UR_TLS_CA: join(dir, 'ca.pem'),
        UR_TLS_CERT: join(dir, 'client.pem'),
        UR_TLS_KEY: join(dir, 'client.key'),
      },
    );
    processes.push(agent);
    await agent.waitForOutput('agent started', 20_000);
    const env = { UR_HEADNODE_URL: headnodeUrl, UR_CONFIG: join(dir, 'none.json') };
    await waitFor('listed', async () => (await run('node', [URCTL_BIN, 'nodes'], env)).stdout.includes(node));
    const result = await run('node', [URCTL_BIN, 'exec', '--node', node, '--', 'echo over tls'], env);
    expect(result).toMatchObject({ code: 0, stdout: 'over tls\n' });
  });

  it('cannot connect without a client certificate, nor without the CA', async () => {
    for (const [what, args] of [
      ['no client certificate', ['--tls-ca', join(dir, 'ca.pem')]],
      ['no CA', ['--tls-cert', join(dir, 'client.pem'), '--tls-key', join(dir, 'client.key')]],
    ] as const) {
      const id = uniqueNodeId('notls');
      const agent = startProcess(
        'node',
        [...AGENT_LAUNCH, '--node-id', id, '--prefix', join(dir, id), '--status-port', 'off', ...args],
        {
          UR_AMQP_URL: amqpsUrl,
        },
      );
      processes.push(agent);
      await agent.waitForOutput('broker connect failed', 20_000);
      expect([what, agent.output()]).toEqual([what, expect.not.stringContaining('agent started')]);
      expect(agent.output()).toMatch(what === 'no CA' ? /self-signed certificate/ : /certificate required/);
      await agent.stop();
    }
  });

  it('refuses a client certificate without its key at start', async () => {
    const result = await run(
      'node',
      [
        ...AGENT_LAUNCH,
        '--node-id',
        uniqueNodeId('half'),
        '--prefix',
        join(dir, 'half'),
        '--tls-cert',
        join(dir, 'client.pem'),
      ],
      {
        UR_AMQP_URL: amqpsUrl,
      },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/certificate and its key go together/);
  });
});
