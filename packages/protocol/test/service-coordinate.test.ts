import {
  checkServiceManifest,
  decodeExecuteRequest,
  formatServiceCoordinate,
  InvalidServiceCoordinateError,
  isServiceCoordinate,
  parseServiceCoordinate,
  SERVICE_COORDINATE_PATTERN,
  serviceRuntimeSegments,
} from '@ur/protocol';

describe('parseServiceCoordinate', () => {
  it.each([
    ['1.myservice.borud.fbu', { instance: '1', service: 'myservice', user: 'borud', cell: 'fbu' }],
    [
      'web-2.front_end.Ops.eu-west-1',
      { instance: 'web-2', service: 'front_end', user: 'Ops', cell: 'eu-west-1' },
    ],
    ['a.b.c.d', { instance: 'a', service: 'b', user: 'c', cell: 'd' }],
  ])('accepts %s', (text, parts) => {
    expect(parseServiceCoordinate(text)).toEqual(parts);
    expect(formatServiceCoordinate(parseServiceCoordinate(text))).toBe(text);
    expect(new RegExp(SERVICE_COORDINATE_PATTERN).test(text)).toBe(true);
    expect(isServiceCoordinate(text)).toBe(true);
  });

  it.each([
    ['', 'expected instance.service.user.cell (four parts)'],
    ['1.svc.user', 'expected instance.service.user.cell (four parts)'],
    ['1.svc.user.cell.x', 'expected instance.service.user.cell (four parts)'],
    ['.svc.user.cell', 'instance is empty'],
    ['1..user.cell', 'service is empty'],
    ['1.svc..cell', 'user is empty'],
    ['1.svc.user.', 'cell is empty'],
    [
      '-1.svc.user.cell',
      "instance may only hold letters, digits, '_' and '-', starting with a letter or digit",
    ],
    [
      '1.s/v.user.cell',
      "service may only hold letters, digits, '_' and '-', starting with a letter or digit",
    ],
    ['1.svc.us er.cell', "user may only hold letters, digits, '_' and '-', starting with a letter or digit"],
    ['1.svc.user.c*', "cell may only hold letters, digits, '_' and '-', starting with a letter or digit"],
    ['1.svc.user.cell:x', "cell may only hold letters, digits, '_' and '-', starting with a letter or digit"],
    [`1.${'s'.repeat(65)}.user.cell`, 'service is longer than 64 characters'],
  ])('refuses %j: %s', (text, reason) => {
    let error: unknown;
    try {
      parseServiceCoordinate(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidServiceCoordinateError);
    expect(error).toMatchObject({ code: 'INVALID_SERVICE_COORDINATE', reason, value: text });
    expect(new RegExp(SERVICE_COORDINATE_PATTERN).test(text)).toBe(false);
    expect(isServiceCoordinate(text)).toBe(false);
  });

  it('gives the runtime directory as the coordinate reversed', () => {
    expect(serviceRuntimeSegments(parseServiceCoordinate('1.myservice.borud.fbu'))).toEqual([
      'fbu',
      'borud',
      'myservice',
      '1',
    ]);
  });
});

describe('service requests and the manifest', () => {
  const decode = (body: unknown) => decodeExecuteRequest(Buffer.from(JSON.stringify(body)));

  it('decodes a start request with options, a restart policy and overrides', () => {
    const request = {
      type: 'service.start',
      coordinate: '1.web.ops.eu',
      artifact: 'com.example:web:1.0.0',
      options: { port: 8080, nested: { a: [1, 2] } },
      restart: { policy: 'on-failure', max_restarts: 3, window_s: 10, delay_s: 0.1, max_delay_s: 1 },
      overrides: { args: ['--port', '{{options.port}}'], drain_signal: 'SIGUSR1' },
    };
    expect(decode(request)).toEqual({ ok: true, value: request });
  });

  it.each([
    [{ type: 'service.start', coordinate: '1.web.ops.eu' }, 'missing field "artifact"'],
    [
      {
        type: 'service.start',
        coordinate: '1.web.ops.eu',
        artifact: 'a:b:c',
        restart: { policy: 'sometimes' },
      },
      'restart.policy',
    ],
    [
      { type: 'service.start', coordinate: '1.web.ops.eu', artifact: 'a:b:c', overrides: { comand: 'x' } },
      'overrides',
    ],
    [{ type: 'service.stop', coordinate: '1.web.ops.eu', forget: 'yes' }, 'forget'],
    [{ type: 'service.logs', coordinate: '1.web.ops.eu', lines: 10_001 }, 'lines'],
  ])('refuses %j', (body, message) => {
    const decoded = decode(body);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) {
      expect(decoded.error.code).toBe('INVALID_REQUEST');
      expect(decoded.error.message).toContain(message);
    }
  });

  it('checks a manifest, naming the field that is wrong', () => {
    const manifest = {
      command: 'bin/server',
      args: ['{{options.port}}'],
      env: { MODE: 'prod' },
      ports: { http: '{{options.port}}' },
      stop_signal: 'SIGINT',
      health: { type: 'http', port: 'http', path: '/health' },
      prepare: [
        { copy: 'conf/default.conf', to: 'conf/app.conf' },
        { template: 'conf/app.tmpl', to: 'app.conf' },
        { archive: 'http://backup/x.zip', sha256: 'ab', to: 'data' },
      ],
      options: { port: 8080 },
    };
    expect(checkServiceManifest(manifest)).toEqual({ ok: true, value: manifest });
    const bad = checkServiceManifest({ command: 'x', stop_signal: 'TERM' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_SERVICE_SPEC' } });
    expect(!bad.ok && bad.error.message).toContain('stop_signal');
    expect(checkServiceManifest({ command: 'x', unknown: 1 })).toMatchObject({ ok: false });
    expect(checkServiceManifest({ prepare: [{ copy: 'a' }] })).toMatchObject({ ok: false });
  });

  it('does not take a schema name for a request type', () => {
    expect(decode({ type: 'ServiceManifest' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_TYPE' } });
    expect(decode({ type: 'ping', client_id: 'x', id: 1 })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_TYPE' },
    });
  });
});
