import {
  artifactArchivePath,
  COORDINATE_PATTERN,
  decodeExecuteRequest,
  formatCoordinate,
  InvalidCoordinateError,
  isCoordinate,
  parseCoordinate,
} from '@ur/protocol';

describe('parseCoordinate', () => {
  it.each([
    ['com.example:hello:1.0.0', { groupId: 'com.example', artifactId: 'hello', version: '1.0.0' }],
    ['org_x:my-app:2.3.4-SNAPSHOT', { groupId: 'org_x', artifactId: 'my-app', version: '2.3.4-SNAPSHOT' }],
    ['a:b:c', { groupId: 'a', artifactId: 'b', version: 'c' }],
    ['9:9:9', { groupId: '9', artifactId: '9', version: '9' }],
  ])('accepts %s', (text, parts) => {
    expect(parseCoordinate(text)).toEqual(parts);
    expect(formatCoordinate(parseCoordinate(text))).toBe(text);
    expect(new RegExp(COORDINATE_PATTERN).test(text)).toBe(true);
  });

  it.each([
    ['', 'expected groupId:artifactId:version'],
    ['a:b', 'expected groupId:artifactId:version'],
    ['a:b:c:d', 'expected groupId:artifactId:version'],
    [':b:c', 'groupId is empty'],
    ['a::c', 'artifactId is empty'],
    ['a:b:', 'version is empty'],
    ['..:b:c', "groupId contains '..'"],
    ['a:b:1..2', "version contains '..'"],
    ['a/b:c:d', 'groupId may only hold'],
    ['a:b\\c:d', 'artifactId may only hold'],
    ['a:b:1.0/../../x', 'version contains'],
    ['.hidden:b:c', 'groupId may only hold'],
    ['a:-rf:c', 'artifactId may only hold'],
    ['a:b:c d', 'version may only hold'],
    ['a:b:c\n', 'version may only hold'],
    ['a:b:ü', 'version may only hold'],
    [`a:b:${'x'.repeat(129)}`, 'version is longer than 128 characters'],
  ])('refuses %j (%s)', (text, reason) => {
    expect(() => parseCoordinate(text)).toThrow(InvalidCoordinateError);
    try {
      parseCoordinate(text);
    } catch (err) {
      expect((err as InvalidCoordinateError).code).toBe('INVALID_COORDINATE');
      expect((err as InvalidCoordinateError).reason).toContain(reason);
    }
    expect(isCoordinate(text)).toBe(false);
    expect(new RegExp(COORDINATE_PATTERN).test(text)).toBe(false);
  });

  it('names the archive as Nodee laid out its repository', () => {
    expect(artifactArchivePath(parseCoordinate('com.example:hello:1.0.0'))).toBe(
      'com.example/hello/1.0.0/hello-1.0.0.zip',
    );
  });
});

describe('artifact requests', () => {
  const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

  it('are known request types with their own schemas', () => {
    expect(decodeExecuteRequest(enc({ type: 'artifact.install', coordinate: 'a:b:c' })).ok).toBe(true);
    expect(decodeExecuteRequest(enc({ type: 'artifact.remove', coordinate: 'a:b:c', force: true })).ok).toBe(
      true,
    );
    expect(decodeExecuteRequest(enc({ type: 'artifact.list' })).ok).toBe(true);
  });

  it.each([
    [{ type: 'artifact.install' }, 'missing field "coordinate"'],
    [{ type: 'artifact.install', coordinate: 'a:b:c', sha256: 'abc' }, 'sha256'],
    [{ type: 'artifact.remove', coordinate: 'a:b:c', force: 'yes' }, 'force'],
  ])('refuse %j', (body, message) => {
    const decoded = decodeExecuteRequest(enc(body));
    expect(decoded.ok ? '' : decoded.error.message).toContain(message);
  });
});
