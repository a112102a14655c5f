import {
  ackKey,
  broadcastKey,
  executeKey,
  executeReplyKey,
  expiredKey,
  heartbeatKey,
  InvalidIdError,
  InvalidRoutingKeyError,
  parseRoutingKey,
  pingKey,
  startupKey,
  sysinfoKey,
} from '@ur/protocol';

describe('routing key builders', () => {
  it('build Ur keys exactly as Triton does', () => {
    expect(startupKey('n1')).toBe('ur.startup.n1');
    expect(sysinfoKey('n1', 'x')).toBe('ur.sysinfo.n1.x');
    expect(executeKey('n1', 'r1')).toBe('ur.execute.n1.r1');
    expect(executeReplyKey('n1', 'r1')).toBe('ur.execute-reply.n1.r1');
    expect(pingKey('n1')).toBe('ur.ping.n1');
    expect(expiredKey('n1')).toBe('ur.expired.n1');
    expect(broadcastKey('sysinfo', 'r2')).toBe('ur.broadcast.sysinfo.r2');
    // No dot between "ack" and the client id.
    expect(ackKey('client7', 'n1')).toBe('ur.ackclient7.n1');
    expect(heartbeatKey('44454c4c-5300-1038-8038-b4c04f383432')).toBe(
      'ur.heartbeat.44454c4c-5300-1038-8038-b4c04f383432',
    );
  });

  it.each(['a.b', 'a*', '#', '', 'x'.repeat(129), 'sp ace', 'ü'])('refuse the id %j', (id) => {
    expect(() => executeKey(id, 'r')).toThrow(InvalidIdError);
    expect(() => executeKey('n', id)).toThrow(/request id/);
  });

  it('accept Triton node ids with a MAC suffix', () => {
    expect(executeKey('564d0f9e-6e4b-8a62-0b5f-0a1c2b3d4e5f-00:0c:29:aa:bb:cc', 'r')).toContain('00:0c:29');
  });
});

describe('parseRoutingKey', () => {
  it.each([
    ['ur.startup.n1', { kind: 'startup', nodeId: 'n1' }],
    ['ur.sysinfo.n1.42', { kind: 'sysinfo', nodeId: 'n1', id: '42' }],
    ['ur.heartbeat.n1', { kind: 'heartbeat', nodeId: 'n1' }],
    ['ur.shutdown.n1', { kind: 'shutdown', nodeId: 'n1' }],
    ['ur.execute.n1.r1', { kind: 'execute', nodeId: 'n1', requestId: 'r1' }],
    ['ur.execute-reply.n1.r1', { kind: 'execute-reply', nodeId: 'n1', requestId: 'r1' }],
    ['ur.execute-progress.n1.r1', { kind: 'execute-progress', nodeId: 'n1', requestId: 'r1' }],
    ['ur.broadcast.ping.r1', { kind: 'broadcast', what: 'ping', requestId: 'r1' }],
    ['ur.ping.n1', { kind: 'ping', nodeId: 'n1' }],
    ['ur.ackabc.n1', { kind: 'ack', clientId: 'abc', nodeId: 'n1' }],
    ['ur.event.n1.service', { kind: 'event', nodeId: 'n1', name: 'service' }],
    ['ur.expired.n1', { kind: 'expired', nodeId: 'n1' }],
  ])('parses %s', (key, expected) => {
    expect(parseRoutingKey(key)).toEqual(expected);
  });

  it('round-trips every builder', () => {
    for (const key of [
      startupKey('a'),
      executeKey('a', 'b'),
      ackKey('c', 'a'),
      broadcastKey('ping', 'z'),
      expiredKey('a'),
    ]) {
      expect(parseRoutingKey(key)).toBeDefined();
    }
  });

  it.each([
    'ur.execute.n1',
    'ur.execute.n1.r1.extra',
    'foo.startup.n1',
    'ur.unknown.n1',
    'ur.broadcast.reboot.r1',
    'ur.ack.n1',
    'ur.startup.n*',
    'ur.expired.n1.r1',
  ])('refuses %s', (key) => {
    expect(() => parseRoutingKey(key)).toThrow(InvalidRoutingKeyError);
  });
});
