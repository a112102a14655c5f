import { KeyedLock } from '../src/keyed-lock.js';

describe('KeyedLock', () => {
  it('runs tasks of one key one at a time, in order, and other keys alongside', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = lock.run('a', async () => {
      log.push('a1 start');
      await gate;
      log.push('a1 end');
      return 1;
    });
    const second = lock.run('a', () => {
      log.push('a2');
      return Promise.resolve(2);
    });
    const other = lock.run('b', () => {
      log.push('b');
      return Promise.resolve(3);
    });
    await other;
    expect(log).toEqual(['a1 start', 'b']);
    release();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(log).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });

  it('goes on after a failed task', async () => {
    const lock = new KeyedLock();
    await expect(lock.run('k', () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await lock.run('k', () => Promise.resolve('next'))).toBe('next');
  });
});
