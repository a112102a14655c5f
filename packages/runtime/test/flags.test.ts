import { booleanFlag, ConfigError, oneOf, parseFlags, positiveNumber } from '@ur/runtime';

const flags = {
  'amqp-url': { env: 'X_AMQP_URL', describe: 'broker' },
  interval: { env: 'X_INTERVAL', describe: 'seconds' },
} as const;

describe('parseFlags', () => {
  it('prefers the flag, then the variable, else leaves the value undefined', async () => {
    expect(
      await parseFlags(
        ['--amqp-url', 'amqp://a'],
        { X_AMQP_URL: 'amqp://b', X_INTERVAL: '3' },
        { scriptName: 't', usage: '', flags },
      ),
    ).toEqual({
      'amqp-url': 'amqp://a',
      interval: '3',
    });
    expect(await parseFlags([], {}, { scriptName: 't', usage: '', flags })).toEqual({
      'amqp-url': undefined,
      interval: undefined,
    });
  });

  it('throws a ConfigError for unknown flags instead of exiting', async () => {
    await expect(parseFlags(['--nope'], {}, { scriptName: 't', usage: '', flags })).rejects.toBeInstanceOf(
      ConfigError,
    );
  });
});

describe('value parsers', () => {
  it('scale positive numbers and name the field when wrong', () => {
    expect(positiveNumber('interval', '2.5', 1000)).toBe(2500);
    expect(positiveNumber('interval', undefined)).toBeUndefined();
    expect(() => positiveNumber('interval', '0')).toThrow('interval: expected a positive number, got "0"');
    expect(() => positiveNumber('interval', '')).toThrow(ConfigError);
  });

  it('accept only listed words', () => {
    expect(oneOf('fmt', 'json', ['json', 'pretty'])).toBe('json');
    expect(() => oneOf('fmt', 'xml', ['json', 'pretty'])).toThrow(
      'fmt: expected one of json, pretty, got "xml"',
    );
  });
});

describe('booleanFlag', () => {
  it.each([
    ['', true],
    ['true', true],
    ['1', true],
    ['YES', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    ['off', false],
  ])('reads %j as %s', (raw, value) => {
    expect(booleanFlag('x', raw)).toBe(value);
  });

  it('leaves an absent switch undefined and refuses other words, naming the flag', () => {
    expect(booleanFlag('x', undefined)).toBeUndefined();
    expect(() => booleanFlag('require-checksum', 'maybe')).toThrow(
      /require-checksum: expected true or false/,
    );
  });
});
