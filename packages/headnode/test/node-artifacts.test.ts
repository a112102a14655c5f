import type { Sysinfo } from '@ur/protocol';
import { artifactsOf } from '../src/node-artifacts.js';

describe('artifactsOf', () => {
  const one = {
    coordinate: 'a:b:1',
    size: 10,
    sha256: 'ab'.repeat(32),
    installed_at: '2026-01-01T00:00:00Z',
  };

  it('takes the list the agent announced', () => {
    expect(artifactsOf({ UUID: 'n', 'Ur Artifacts': [one] })).toEqual([one]);
  });

  it('gives none for Triton agents and malformed lists', () => {
    expect(artifactsOf({ UUID: 'n' })).toEqual([]);
    expect(artifactsOf({ UUID: 'n', 'Ur Artifacts': 'nope' } as unknown as Sysinfo)).toEqual([]);
    expect(
      artifactsOf({ UUID: 'n', 'Ur Artifacts': [{ coordinate: 'a:b:1' }] } as unknown as Sysinfo),
    ).toEqual([]);
  });
});
