import { classifyEntry, symlinkTargetInside } from '../src/artifacts/entry-path.js';
import { UnsafeArchiveError } from '../src/artifacts/errors.js';

const UNIX = 3 << 8;
const attrs = (mode: number): number => (mode << 16) >>> 0;

describe('classifyEntry', () => {
  it.each([
    ['bin/tool', 0o100755, { segments: ['bin', 'tool'], kind: 'file', executable: true }],
    ['README', 0o100644, { segments: ['README'], kind: 'file', executable: false }],
    ['./a//b', 0o100644, { segments: ['a', 'b'], kind: 'file', executable: false }],
    ['lib/', 0o040755, { segments: ['lib'], kind: 'directory', executable: true }],
    ['lib', 0o040755, { segments: ['lib'], kind: 'directory', executable: true }],
    ['./', 0, { segments: [], kind: 'directory', executable: false }],
    ['current', 0o120777, { segments: ['current'], kind: 'symlink', executable: true }],
    ['plain', 0, { segments: ['plain'], kind: 'file', executable: false }],
  ])('%s (mode %o)', (name, mode, expected) => {
    expect(classifyEntry(name, attrs(mode), UNIX)).toEqual(expected);
  });

  it('ignores mode bits from hosts that are not Unix', () => {
    expect(classifyEntry('tool.exe', attrs(0o100755), 0).executable).toBe(false);
  });

  it.each([
    ['../evil', "'..' component"],
    ['a/../../evil', "'..' component"],
    ['a/..', "'..' component"],
    ['/etc/passwd', 'absolute path'],
    ['C:/Windows/evil', 'absolute path'],
    ['c:evil', 'absolute path'],
    ['nul\0byte', 'NUL byte'],
    ['.ur-artifact.json', 'reserved'],
    ['./.ur-artifact.json', 'reserved'],
  ])('refuses %j (%s)', (name, reason) => {
    expect(() => classifyEntry(name, attrs(0o100644), UNIX)).toThrow(UnsafeArchiveError);
    expect(() => classifyEntry(name, attrs(0o100644), UNIX)).toThrow(reason);
  });

  it.each([
    ['fifo', 0o010644],
    ['char device', 0o020644],
    ['block device', 0o060644],
    ['socket', 0o140644],
  ])('refuses a %s', (_what, mode) => {
    expect(() => classifyEntry('x', attrs(mode), UNIX)).toThrow('special file');
  });

  it('allows the metadata name below the top', () => {
    expect(classifyEntry('docs/.ur-artifact.json', attrs(0o100644), UNIX).segments).toEqual([
      'docs',
      '.ur-artifact.json',
    ]);
  });
});

describe('symlinkTargetInside', () => {
  it.each([
    [['lib', 'current'], 'data.txt', true],
    [['lib', 'current'], '../bin/tool', true],
    [['a', 'b', 'c'], '../../x', true],
    [['top'], '.', true],
    [['lib', 'current'], '../../etc', false],
    [['top'], '..', false],
    [['a', 'b'], 'c/../../../x', false],
    [['x'], '/etc/passwd', false],
    [['x'], '', false],
  ])('%j -> %j: %s', (segments, target, inside) => {
    expect(symlinkTargetInside(segments, target)).toBe(inside);
  });
});
