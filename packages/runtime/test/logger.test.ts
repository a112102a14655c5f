import { createLogger } from '@ur/runtime';

describe('createLogger', () => {
  it('writes the levels at and above its threshold, and drops the others before winston streams them', () => {
    const logger = createLogger({ service: 'test', level: 'info' });
    const written: unknown[] = [];
    // The transport stays quiet; what reaches the logger's stream is what counts.
    logger.transports.forEach((t) => (t.silent = true));
    logger.write = (info: unknown): boolean => {
      written.push(info);
      return true;
    };
    logger.debug('not this', { n: 1 });
    logger.child({ part: 'x' }).debug('nor this');
    logger.info('this', { n: 2 });
    logger.warn('and this');
    expect(written).toEqual([
      expect.objectContaining({ level: 'info', message: 'this', n: 2, service: 'test' }),
      expect.objectContaining({ level: 'warn', message: 'and this' }),
    ]);
  });

  it('writes debug lines when asked to', () => {
    const logger = createLogger({ service: 'test', level: 'debug' });
    logger.transports.forEach((t) => (t.silent = true));
    const written: unknown[] = [];
    logger.write = (info: unknown): boolean => {
      written.push(info);
      return true;
    };
    logger.debug('this one');
    expect(written).toEqual([expect.objectContaining({ level: 'debug', message: 'this one' })]);
  });
});
