import {
  FanOutLimitError,
  isEventPattern,
  matchesAnyEventPattern,
  matchesEventPattern,
  parseFanOutLimit,
  readSse,
  resolveFanOutLimit,
} from '@ur/protocol';

describe('fan-out limits', () => {
  it.each([
    [3, { kind: 'count', value: 3 }],
    ['3', { kind: 'count', value: 3 }],
    ['10%', { kind: 'percent', value: 10 }],
    [' 12.5% ', { kind: 'percent', value: 12.5 }],
    ['100%', { kind: 'percent', value: 100 }],
  ])('parses %j', (input, limit) => {
    expect(parseFanOutLimit('concurrency', input)).toEqual(limit);
  });

  it.each([0, -1, 1.5, '0', '0%', '101%', 'ten', '%', '5 %', ''])('refuses %j, naming the field', (input) => {
    expect(() => parseFanOutLimit('max_errors', input)).toThrow(FanOutLimitError);
    expect(() => parseFanOutLimit('max_errors', input)).toThrow(/^max_errors must be/);
  });

  it('resolves a percentage of the nodes, never below one', () => {
    expect(resolveFanOutLimit({ kind: 'count', value: 7 }, 3)).toBe(7);
    expect(resolveFanOutLimit({ kind: 'percent', value: 10 }, 20)).toBe(2);
    expect(resolveFanOutLimit({ kind: 'percent', value: 10 }, 25)).toBe(3);
    expect(resolveFanOutLimit({ kind: 'percent', value: 1 }, 5)).toBe(1);
    expect(resolveFanOutLimit({ kind: 'percent', value: 100 }, 0)).toBe(1);
  });
});

describe('event type patterns', () => {
  it.each([
    ['node.*', 'node.down', true],
    ['node.*', 'job.node.failed', false],
    ['job.node.*', 'job.node.failed', true],
    ['job.*', 'job.node.failed', true],
    ['job.completed', 'job.completed', true],
    ['job.completed', 'job.created', false],
    ['*', 'node.registered', true],
    ['*.failed', 'job.node.failed', true],
    ['node.d*', 'node.down', true],
    ['node.d*', 'node.ready', false],
  ])('%s matches %s: %s', (pattern, type, matches) => {
    expect(matchesEventPattern(pattern, type)).toBe(matches);
  });

  it('knows valid patterns', () => {
    expect(['node.*', 'job.completed', '*', 'service.*'].every(isEventPattern)).toBe(true);
    expect(['', 'Node.*', 'node.$', 'a'.repeat(65), 'node down'].some(isEventPattern)).toBe(false);
    expect(matchesAnyEventPattern(['node.down', 'job.*'], 'job.created')).toBe(true);
    expect(matchesAnyEventPattern([], 'job.created')).toBe(false);
  });
});

describe('readSse', () => {
  async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
    for (const part of parts) yield await Promise.resolve(new TextEncoder().encode(part));
  }

  it('splits messages at blank lines, whatever the chunking, skipping comments', async () => {
    const text =
      ': hello\n\nid: 7\nevent: job.node.sent\ndata: {"a":1}\n\nevent: output\ndata: x\ndata: y\r\n\r\n';
    for (const size of [1, 3, 1000]) {
      const parts = [];
      for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
      const messages = [];
      for await (const m of readSse(chunks(...parts))) messages.push(m);
      expect(messages).toEqual([
        { id: '7', event: 'job.node.sent', data: '{"a":1}' },
        { id: undefined, event: 'output', data: 'x\ny' },
      ]);
    }
  });

  it('keeps multi-byte characters split across chunks whole', async () => {
    const bytes = new TextEncoder().encode('data: héllo ✓\n\n');
    async function* split(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i++) yield await Promise.resolve(bytes.slice(i, i + 1));
    }
    const messages = [];
    for await (const m of readSse(split())) messages.push(m);
    expect(messages).toEqual([{ id: undefined, event: 'message', data: 'héllo ✓' }]);
  });
});
