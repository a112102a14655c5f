import type { ProgressEvent } from '@ur/protocol';
import { ProgressReporter } from '../src/progress-reporter.js';

function reporter(options = {}): { events: ProgressEvent[]; r: ProgressReporter } {
  const events: ProgressEvent[] = [];
  return { events, r: new ProgressReporter('n1', 'r1', (e) => void events.push(e), options) };
}

describe('ProgressReporter', () => {
  it('numbers events and batches output until the interval passes', async () => {
    const { events, r } = reporter({ flushIntervalMs: 30 });
    r.stage('accepted');
    r.output('stdout', Buffer.from('a'));
    r.output('stdout', Buffer.from('b'));
    r.output('stderr', Buffer.from('e'));
    expect(events).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(events.map((e) => [e.seq, e.stage, e.stream, e.data])).toEqual([
      [0, 'accepted', undefined, undefined],
      [1, 'output', 'stdout', 'ab'],
      [2, 'output', 'stderr', 'e'],
    ]);
    expect(events[1]).toMatchObject({ type: 'progress', node_id: 'n1', request_id: 'r1' });
    await r.close();
  });

  it('sends at once when a chunk fills the buffer, never splitting a character', async () => {
    const { events, r } = reporter({ flushIntervalMs: 10_000, maxChunkBytes: 4 });
    const euro = Buffer.from('€€'); // 3 bytes each
    r.output('stdout', euro.subarray(0, 4));
    r.output('stdout', euro.subarray(4));
    await r.close();
    expect(events.map((e) => e.data).join('')).toBe('€€');
    expect(events.every((e) => !e.data?.includes('\uFFFD'))).toBe(true);
  });

  it('keeps only the latest progress update per interval', async () => {
    const { events, r } = reporter({ flushIntervalMs: 20 });
    for (let done = 0; done <= 100; done += 10) r.update({ done, total: 100, unit: 'bytes' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(events).toHaveLength(1);
    expect(events[0]?.progress).toEqual({ done: 100, total: 100, unit: 'bytes' });
    await r.close();
  });

  it('closes only once the broker has every event sent, the last output and count included', async () => {
    const confirms: (() => void)[] = [];
    const sent: ProgressEvent[] = [];
    const r = new ProgressReporter(
      'n1',
      'r1',
      (e) => {
        sent.push(e);
        return new Promise<void>((resolve) => confirms.push(resolve));
      },
      { flushIntervalMs: 10_000 },
    );
    r.stage('started');
    r.output('stdout', Buffer.from('last line\n'));
    r.update({ done: 300, total: 300, unit: 'entries' });
    let closed = false;
    const closing = r.close().then(() => (closed = true));
    expect(sent.map((e) => e.stage)).toEqual(['started', 'output', 'progress']);
    confirms.shift()?.();
    confirms.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false); // the final count is not confirmed yet
    confirms.shift()?.();
    await closing;
    expect(closed).toBe(true);
  });
});
