import { OutputCapture } from '@ur/agent';

describe('OutputCapture', () => {
  it('keeps everything up to the cap', () => {
    const c = new OutputCapture(10);
    c.push(Buffer.from('hello '));
    c.push(Buffer.from('you!'));
    expect(c.text()).toBe('hello you!');
    expect(c.bytes).toBe(10);
    expect(c.truncated).toBe(false);
  });

  it('keeps the head and the tail and says how much it dropped', () => {
    const c = new OutputCapture(10);
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') c.push(Buffer.from(ch));
    expect(c.truncated).toBe(true);
    expect(c.bytes).toBe(26);
    expect(c.text()).toBe('abcde\n[... 16 bytes omitted by ur-agent ...]\nvwxyz');
  });

  it('handles one huge chunk the same way as many small ones', () => {
    const big = new OutputCapture(10);
    big.push(Buffer.from('abcdefghijklmnopqrstuvwxyz'));
    const small = new OutputCapture(10);
    for (const ch of 'abcdefghijklmnopqrstuvwxyz') small.push(Buffer.from(ch));
    expect(big.text()).toBe(small.text());
  });

  it('never splits a multi-byte character at the cut', () => {
    const c = new OutputCapture(8);
    c.push(Buffer.from('aéééééééééz')); // é is two bytes
    const text = c.text();
    expect(text).not.toContain('\uFFFD');
    expect(text.startsWith('aé')).toBe(true);
    expect(text.endsWith('éz')).toBe(true);
  });

  it('stays bounded however much is pushed', () => {
    const c = new OutputCapture(1024);
    const chunk = Buffer.alloc(4096, 0x61);
    for (let i = 0; i < 2_000; i++) c.push(chunk);
    expect(c.bytes).toBe(4096 * 2000);
    expect(c.text().length).toBeLessThan(1200);
  });
});
