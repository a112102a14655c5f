import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlaceholderError, renderPlaceholders } from '../src/services/placeholders.js';
import {
  compileRestartPolicy,
  decideRestart,
  DEFAULT_RESTART_POLICY,
} from '../src/services/restart-policy.js';
import { LOG_FILE, RotatingLog } from '../src/services/rotating-log.js';
import { relativeInside, resolveSpec, type SpecInput } from '../src/services/service-spec.js';

describe('renderPlaceholders', () => {
  const context = {
    options: { port: 8080, name: 'web', on: true, nested: { host: 'db.local' }, list: [1], none: null },
    service: { instance: '1' },
  };

  it.each([
    ['--port={{options.port}}', '--port=8080'],
    ['{{ options.name }}-{{service.instance}}', 'web-1'],
    ['{{options.on}}', 'true'],
    ['{{options.nested.host}}:5432', 'db.local:5432'],
    ['no placeholders', 'no placeholders'],
    ['{{ 1 + 2 }} and {{', '{{ 1 + 2 }} and {{'],
    ['{{options.port}}{{options.port}}', '80808080'],
  ])('renders %j', (text, expected) => {
    expect(renderPlaceholders(text, context, 'args[0]')).toBe(expected);
  });

  it.each([
    ['{{options.missing}}', 'args[0]: {{options.missing}} names nothing'],
    ['{{options.nested}}', 'args[0]: {{options.nested}} is an object, not text'],
    ['{{options.list}}', 'args[0]: {{options.list}} is a list, not text'],
    ['{{options.none}}', 'args[0]: {{options.none}} is null, not text'],
    ['{{options.port.x}}', 'args[0]: {{options.port.x}} names nothing'],
    ['{{options.constructor}}', 'args[0]: {{options.constructor}} names nothing'],
    ['{{options.__proto__}}', 'args[0]: {{options.__proto__}} names nothing'],
  ])('refuses %j', (text, message) => {
    expect(() => renderPlaceholders(text, context, 'args[0]')).toThrow(PlaceholderError);
    expect(() => renderPlaceholders(text, context, 'args[0]')).toThrow(message);
  });
});

describe('the restart policy', () => {
  const policy = compileRestartPolicy({ max_restarts: 3, window_s: 10, delay_s: 1, max_delay_s: 3 });
  const crash = { exitStatus: 1, signal: null };
  const clean = { exitStatus: 0, signal: null };

  it('merges layers field by field over the defaults', () => {
    expect(compileRestartPolicy(undefined, { policy: 'never' }, { delay_s: 2 })).toEqual({
      ...DEFAULT_RESTART_POLICY,
      policy: 'never',
      delayMs: 2000,
    });
  });

  it('doubles the delay per recent restart, with jitter in the upper half, up to the maximum', () => {
    const now = 100_000;
    expect(decideRestart(policy, crash, [], now, () => 0)).toEqual({ action: 'restart', delayMs: 500 });
    expect(decideRestart(policy, crash, [], now, () => 1)).toEqual({ action: 'restart', delayMs: 1000 });
    expect(decideRestart(policy, crash, [now - 1000], now, () => 1)).toEqual({
      action: 'restart',
      delayMs: 2000,
    });
    expect(decideRestart(policy, crash, [now - 2000, now - 1000], now, () => 1)).toEqual({
      action: 'restart',
      delayMs: 3000,
    });
  });

  it('fails once the restarts within the window reach the limit; older ones do not count', () => {
    const now = 100_000;
    expect(decideRestart(policy, crash, [now - 3000, now - 2000, now - 1000], now)).toEqual({
      action: 'fail',
      recent: 3,
    });
    expect(decideRestart(policy, crash, [now - 30_000, now - 20_000, now - 1000], now, () => 0)).toEqual({
      action: 'restart',
      delayMs: 1000,
    });
  });

  it('follows always, on-failure and never', () => {
    expect(decideRestart(policy, clean, [], 0).action).toBe('restart');
    const onFailure = compileRestartPolicy({ policy: 'on-failure' });
    expect(decideRestart(onFailure, clean, [], 0).action).toBe('exit');
    expect(decideRestart(onFailure, crash, [], 0).action).toBe('restart');
    expect(decideRestart(onFailure, { exitStatus: null, signal: 'SIGKILL' }, [], 0).action).toBe('restart');
    // An adopted process's end is unknown: a failure.
    expect(decideRestart(onFailure, { exitStatus: null, signal: null }, [], 0).action).toBe('restart');
    expect(decideRestart(compileRestartPolicy({ policy: 'never' }), crash, [], 0).action).toBe('exit');
  });
});

describe('RotatingLog', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ur-rotating-log-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every file under the limit and at most `files` rotated ones, newest lines last', async () => {
    const log = new RotatingLog(dir, { maxBytes: 1000, files: 2 });
    for (let i = 0; i < 500; i++) await log.write(Buffer.from(`line ${i}\n`));
    await log.write(Buffer.alloc(2500, 'x'));
    await log.write(Buffer.from('\nlast\n'));
    const names = (await readdir(dir)).sort();
    expect(names).toEqual([LOG_FILE, `${LOG_FILE}.1`, `${LOG_FILE}.2`]);
    for (const name of names) expect((await stat(join(dir, name))).size).toBeLessThanOrEqual(1000);
    expect((await log.tail(1, 1 << 20)).lines).toEqual(['last']);
    await log.close();
  });

  it('returns the last lines across rotated files, and says when the byte limit cut them', async () => {
    const log = new RotatingLog(dir, { maxBytes: 100, files: 5 });
    for (let i = 0; i < 40; i++) await log.write(Buffer.from(`line ${i}\n`));
    expect(await log.tail(3, 1 << 20)).toEqual({
      lines: ['line 37', 'line 38', 'line 39'],
      truncated: false,
    });
    const many = await log.tail(25, 1 << 20);
    expect(many.lines).toHaveLength(25);
    expect(many.lines[0]).toBe('line 15');
    expect(await log.tail(10, 20)).toEqual({ lines: ['line 38', 'line 39'], truncated: true });
    expect(await log.tail(0, 100)).toEqual({ lines: [], truncated: false });
    // Asking for more than there is: everything, not truncated.
    const small = new RotatingLog(join(dir, 'small'), { maxBytes: 100, files: 1 });
    await small.write(Buffer.from('a\nb'));
    expect(await small.tail(10, 1 << 20)).toEqual({ lines: ['a', 'b'], truncated: false });
    await log.close();
    await small.close();
  });

  it('passes output to subscribers as it is written', async () => {
    const log = new RotatingLog(dir, { maxBytes: 100, files: 1 });
    const seen: string[] = [];
    const stop = log.subscribe((chunk) => seen.push(chunk.toString()));
    await log.write(Buffer.from('one\n'));
    stop();
    await log.write(Buffer.from('two\n'));
    expect(seen).toEqual(['one\n']);
    await log.close();
  });
});

describe('resolveSpec', () => {
  const input: SpecInput = {
    coordinate: '1.web.ops.eu',
    parts: { instance: '1', service: 'web', user: 'ops', cell: 'eu' },
    artifact: {
      coordinate: 'com.example:web:1.0.0',
      groupId: 'com.example',
      artifactId: 'web',
      version: '1.0.0',
    },
    softwareDir: '/ur/software/com.example/web/1.0.0',
    runtimeDir: '/ur/runtime/eu/ops/web/1',
    nodeId: 'node-1',
    options: { port: 9090 },
    restart: { delay_s: 0.5 },
    overrides: undefined,
    logDefaults: { maxBytes: 4096, files: 2 },
  };

  it('merges manifest, overrides and options and fills in placeholders', () => {
    const spec = resolveSpec(
      {
        command: 'bin/web',
        args: ['--port', '{{ports.http}}', '--dir', '{{dirs.runtime}}', '{{service.instance}}'],
        env: { MODE: '{{options.mode}}' },
        ports: { http: '{{options.port}}' },
        drain_signal: 'SIGUSR1',
        health: { type: 'tcp', port: '{{options.port}}' },
        prepare: [{ template: 'conf/web.tmpl', to: 'conf/web.conf' }],
        restart: { policy: 'on-failure', delay_s: 2 },
        options: { port: 8080, mode: 'prod' },
      },
      input,
    );
    expect(spec.command).toBe('/ur/software/com.example/web/1.0.0/bin/web');
    expect(spec.args).toEqual(['--port', '9090', '--dir', '/ur/runtime/eu/ops/web/1', '1']);
    expect(spec.env).toMatchObject({
      MODE: 'prod',
      HOME: '/ur/runtime/eu/ops/web/1',
      UR_SERVICE: '1.web.ops.eu',
      UR_OPTIONS_FILE: '/ur/runtime/eu/ops/web/1/options.json',
    });
    expect(spec.env.UR_AMQP_URL).toBeUndefined();
    expect(spec.ports).toEqual({ http: 9090 });
    expect(spec.options).toEqual({ port: 9090, mode: 'prod' });
    expect(spec.drainSignal).toBe('SIGUSR1');
    expect(spec.stopSignal).toBe('SIGTERM');
    expect(spec.health).toMatchObject({ type: 'tcp', port: 9090 });
    expect(spec.prepare).toEqual([{ kind: 'template', from: 'conf/web.tmpl', to: 'conf/web.conf' }]);
    expect(spec.restart).toMatchObject({ policy: 'on-failure', delayMs: 500 });
    expect(spec.logs).toEqual({ maxBytes: 4096, files: 2 });
  });

  it.each([
    [{}, 'no command'],
    [{ command: 'x', args: ['{{options.nope}}'] }, '{{options.nope}} names nothing'],
    [{ command: '../../bin/sh' }, 'leads outside the artifact'],
    [{ command: 'x', stop_signal: 'SIGNOPE' }, 'unknown signal SIGNOPE'],
    [{ command: 'x', ports: { http: '{{options.port}}0000' } }, 'is not a port number'],
    [{ command: 'x', prepare: [{ copy: '/etc/passwd', to: 'p' }] }, 'must be a relative path'],
    [{ command: 'x', prepare: [{ copy: 'a', to: '../escape' }] }, 'must be a relative path'],
    [
      { command: 'x', prepare: [{ archive: 'file:///etc/passwd', sha256: 'a'.repeat(64), to: 'd' }] },
      'http or https',
    ],
    [{ command: 'x', prepare: [{ archive: 'http://x/a.zip', sha256: 'abc', to: 'd' }] }, 'not a SHA-256'],
  ])('refuses %j', (manifest, message) => {
    expect(() => resolveSpec(manifest, input)).toThrow(message);
  });

  it('lets overrides replace a manifest field and the request pick the command', () => {
    const spec = resolveSpec(
      { command: 'bin/a', args: ['x'] },
      { ...input, overrides: { command: 'sh', args: ['-c', 'true'] } },
    );
    expect(spec.command).toBe('sh');
    expect(spec.args).toEqual(['-c', 'true']);
  });

  it('keeps relative paths inside', () => {
    expect(relativeInside('a/b/../c')).toBe('a/c');
    expect(relativeInside('conf/')).toBe('conf');
    for (const bad of ['', '.', './', '..', '../a', 'a/../..', '/abs'])
      expect(relativeInside(bad)).toBeUndefined();
  });
});

describe('resolveServiceAccount', () => {
  it('runs services as the configured account when root, as the agent otherwise', async () => {
    const { resolveServiceAccount, ServiceUserError } = await import('../src/services/service-user.js');
    expect(await resolveServiceAccount('nobody', false)).toEqual({
      name: 'the agent user',
      uid: undefined,
      gid: undefined,
    });
    expect(await resolveServiceAccount('root', true)).toEqual({
      name: 'root',
      uid: undefined,
      gid: undefined,
    });
    expect(await resolveServiceAccount('0', true)).toEqual({ name: 'root', uid: undefined, gid: undefined });
    expect(await resolveServiceAccount('1000:2000', true)).toEqual({
      name: '1000:2000',
      uid: 1000,
      gid: 2000,
    });
    expect(await resolveServiceAccount('1000', true)).toEqual({ name: '1000', uid: 1000, gid: 1000 });
    const nobody = await resolveServiceAccount('nobody', true);
    expect(nobody.uid).toBeGreaterThan(0);
    await expect(resolveServiceAccount('no-such-user-here', true)).rejects.toThrow(ServiceUserError);
  });
});
