import { booleanFlag, ConfigError, HelpRequested, oneOf, parseFlags, positiveNumber } from '@ur/runtime';

const flags = {
  'amqp-url': { env: 'X_AMQP_URL', describe: 'broker' },
  interval: { env: 'X_INTERVAL', describe: 'seconds' },
} as const;

describe('parseFlags', () => {
  it('prefers the flag, then the variable, else leaves the value undefined', () => {
    expect(
      parseFlags(
        ['--amqp-url', 'amqp://a'],
        { X_AMQP_URL: 'amqp://b', X_INTERVAL: '3' },
        { scriptName: 't', usage: '', flags },
      ),
    ).toEqual({
      'amqp-url': 'amqp://a',
      interval: '3',
    });
    expect(parseFlags([], {}, { scriptName: 't', usage: '', flags })).toEqual({
      'amqp-url': undefined,
      interval: undefined,
    });
  });

  it('throws a ConfigError for unknown flags and missing values instead of exiting', () => {
    expect(() => parseFlags(['--nope'], {}, { scriptName: 't', usage: '', flags })).toThrow(ConfigError);
    expect(() => parseFlags(['--interval'], {}, { scriptName: 't', usage: '', flags })).toThrow(/--interval/);
    expect(() => parseFlags(['stray'], {}, { scriptName: 't', usage: '', flags })).toThrow(ConfigError);
  });

  it('answers --help with a usage text naming every flag and its variable', () => {
    let help: unknown;
    try {
      parseFlags(['--help'], {}, { scriptName: 'ur-x', usage: '$0 [options]', flags });
    } catch (err) {
      help = err;
    }
    expect(help).toBeInstanceOf(HelpRequested);
    const text = (help as Error).message;
    expect(text).toMatch(/^ur-x \[options\]/);
    expect(text).toMatch(/--amqp-url\s+broker \(X_AMQP_URL\)/);
    expect(text).toMatch(/--interval\s+seconds \(X_INTERVAL\)/);
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

describe('switches', () => {
  const switches = { dry: { env: 'X_DRY', describe: 'dry run', switch: true } } as const;
  it('are true when given alone, else read their variable, and take no value', () => {
    expect(
      parseFlags(['--dry'], { X_DRY: 'false' }, { scriptName: 't', usage: '', flags: switches }).dry,
    ).toBe('true');
    expect(parseFlags([], { X_DRY: 'no' }, { scriptName: 't', usage: '', flags: switches }).dry).toBe('no');
    expect(() => parseFlags(['--dry=yes'], {}, { scriptName: 't', usage: '', flags: switches })).toThrow(
      ConfigError,
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
