import { OutputHub } from '@ur/headnode';
import type { ProgressEvent } from '@ur/protocol';

let seq = 0;
const chunk = (requestId: string, data: string, stage: ProgressEvent['stage'] = 'output'): ProgressEvent => ({
  type: 'progress',
  node_id: 'n1',
  request_id: requestId,
  seq: seq++,
  at: new Date().toISOString(),
  stage,
  stream: 'stdout',
  data,
});

describe('OutputHub', () => {
  it('hands output to watchers of its request, and the start of it to those who come late', () => {
    const hub = new OutputHub();
    const early: string[] = [];
    hub.watch(['r1'], (e) => early.push(e.data ?? ''));
    hub.publish(chunk('r1', 'a'));
    hub.publish(chunk('r2', 'x'));
    hub.publish(chunk('r1', 'b', 'progress'));
    const late: string[] = [];
    const unwatch = hub.watch(['r1'], (e) => late.push(e.data ?? ''), true);
    hub.publish(chunk('r1', 'c'));
    unwatch();
    hub.publish(chunk('r1', 'd'));
    expect(early).toEqual(['a', 'c', 'd']);
    expect(late).toEqual(['a', 'c']);
    const resumed: string[] = [];
    hub.watch(['r1'], (e) => resumed.push(e.data ?? ''), false);
    expect(resumed).toEqual([]);
  });

  it('keeps at most the configured bytes per request and in all, and forgets idle requests', () => {
    const hub = new OutputHub({ maxBytesPerRequest: 4, maxBytes: 10, keepMs: 1_000 });
    hub.publish(chunk('r1', 'abc'), 0);
    hub.publish(chunk('r1', 'de'), 1); // would pass 4 bytes: not kept (still delivered live)
    hub.publish(chunk('r1', 'f'), 2);
    const kept = (id: string): string[] => {
      const out: string[] = [];
      hub.watch([id], (e) => out.push(e.data ?? ''), true)();
      return out;
    };
    expect(kept('r1')).toEqual(['abc', 'f']);
    for (const id of ['r2', 'r3', 'r4']) hub.publish(chunk(id, 'zzz'), 3);
    // 4 + 9 bytes is over 10: the least recently active request goes.
    expect(kept('r1')).toEqual([]);
    expect(hub.bufferedBytes).toBe(9);
    hub.publish(chunk('r5', 'q'), 5_000);
    expect(kept('r2')).toEqual([]);
    expect(hub.bufferedBytes).toBe(1);
  });
});
