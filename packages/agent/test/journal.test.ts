import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type ExecuteReply } from '@ur/protocol';
import { Journal, type JournalOptions } from '../src/journal/journal.js';
import { JournalFormatError } from '../src/journal/errors.js';
import { parseRecord, peekRecord } from '../src/journal/journal-records.js';
import { acquireStateLock, StateLockedError } from '../src/journal/state-lock.js';

let dir: string;
const open: Journal[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ur-journal-'));
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((j) => j.close().catch(() => undefined)));
  await rm(dir, { recursive: true, force: true });
});

async function openJournal(options: Partial<JournalOptions> = {}): Promise<Journal> {
  const journal = await Journal.open({
    dir,
    maxEntries: 10_000,
    retentionMs: 24 * 3600_000,
    maxReplyBytes: 64 * 1024 * 1024,
    logger: silentLogger,
    ...options,
  });
  open.push(journal);
  return journal;
}

/** Closes `journal` and opens the same directory again, as a restarted agent does. */
async function reopen(journal: Journal, options: Partial<JournalOptions> = {}): Promise<Journal> {
  await journal.close();
  open.splice(open.indexOf(journal), 1);
  return openJournal(options);
}

function reply(stdout: string, exitStatus = 0): ExecuteReply {
  return {
    exit_status: exitStatus,
    stdout,
    stderr: '',
    signal: null,
    duration_ms: 1,
    started_at: null,
    finished_at: null,
    stdout_bytes: stdout.length,
    stderr_bytes: 0,
    stdout_truncated: false,
    stderr_truncated: false,
    timed_out: false,
  };
}

async function lines(): Promise<string[]> {
  return (await readFile(join(dir, 'journal.log'), 'utf8')).split('\n').filter((l) => l !== '');
}

describe('Journal', () => {
  it('keeps each request’s state and stored reply across a restart', async () => {
    let journal = await openJournal();
    await journal.received('r1', 'script');
    journal.started('r1', { pgid: 4242, startTime: '123', bootId: 'b' });
    await journal.received('r2', 'script');
    await journal.finished('r2', 'ur.execute-reply.n.r2', 'm-2', reply('two'));
    journal.sent('r2');
    await journal.finished('r3', 'ur.execute-reply.n.r3', 'm-3', reply('', 1));
    await journal.sync();

    journal = await reopen(journal);
    expect(journal.get('r1')).toMatchObject({
      state: 'running',
      type: 'script',
      process: { pgid: 4242, startTime: '123', bootId: 'b' },
    });
    expect(journal.running().map((e) => e.id)).toEqual(['r1']);
    expect(journal.get('r2')?.state).toBe('sent');
    expect(journal.unsent()).toEqual(['r3']);
    expect(await journal.reply('r2')).toEqual({
      id: 'r2',
      routingKey: 'ur.execute-reply.n.r2',
      messageId: 'm-2',
      reply: reply('two'),
    });
    expect(journal.get('nope')).toBeUndefined();
  });

  it('writes records appended in one tick together, in order, with a format header first', async () => {
    const journal = await openJournal();
    await Promise.all(Array.from({ length: 500 }, (_, i) => journal.received(`r${i}`, 'script')));
    const all = await lines();
    expect(parseRecord(all[0]!)).toEqual({ k: 'journal', v: 1 });
    expect(all.slice(1).map((l) => (parseRecord(l) as { id: string }).id)).toEqual(
      Array.from({ length: 500 }, (_, i) => `r${i}`),
    );
    expect(() => journal.received('r7', 'script')).toThrow(/already/);
  });

  it('drops a record cut short by a crash and appends after the last good line', async () => {
    let journal = await openJournal();
    await journal.received('r1', 'script');
    await journal.close();
    open.length = 0;
    await appendFile(join(dir, 'journal.log'), '{"k":"done","id":"r1","at":1,"key":"x","mid":"m","rep');
    journal = await openJournal();
    expect(journal.get('r1')?.state).toBe('running');
    await journal.finished('r1', 'ur.execute-reply.n.r1', 'm-1', reply('ok'));
    journal = await reopen(journal);
    expect((await journal.reply('r1'))?.reply.stdout).toBe('ok');
    expect((await lines()).every((l) => parseRecord(l) !== undefined)).toBe(true);
  });

  it('refuses a journal written in another format', async () => {
    await writeFile(join(dir, 'journal.log'), '{"k":"journal","v":99}\n');
    await expect(openJournal()).rejects.toThrow(JournalFormatError);
  });

  it('compacts to its bounds: the newest finished ids, never an unfinished or unsent one', async () => {
    let journal = await openJournal({ maxEntries: 20 });
    await journal.received('still-running', 'script');
    await journal.finished('never-confirmed', 'k', 'm', reply('pending'));
    for (let i = 0; i < 60; i++) {
      await journal.received(`r${i}`, 'script');
      await journal.finished(`r${i}`, `ur.execute-reply.n.r${i}`, `m${i}`, reply(`out ${i}`));
      journal.sent(`r${i}`);
    }
    await journal.sync();
    const stats = journal.stats();
    expect(stats.entries).toBeLessThanOrEqual(40);
    expect(stats.records).toBeLessThan(3 * 60);
    expect(journal.get('still-running')?.state).toBe('running');
    expect(journal.unsent()).toEqual(['never-confirmed']);
    expect(journal.get('r0')).toBeUndefined();
    expect((await journal.reply('r59'))?.reply.stdout).toBe('out 59');

    journal = await reopen(journal);
    expect(journal.get('still-running')?.state).toBe('running');
    expect(journal.unsent()).toEqual(['never-confirmed']);
    expect((await journal.reply('r59'))?.messageId).toBe('m59');
    expect(journal.get('r59')?.state).toBe('sent');
    // One line per finished id after a compaction (the delivery folded into the reply's line).
    const compacted = (await lines()).map((l) => parseRecord(l));
    expect(compacted.filter((r) => r?.k === 'sent').length).toBeLessThan(compacted.length / 4);
  });

  it('survives repeated compactions with its state intact', async () => {
    let journal = await openJournal({ maxEntries: 5 });
    for (let i = 0; i < 100; i++) {
      await journal.finished(`r${i}`, 'k', `m${i}`, reply(`${i}`));
      journal.sent(`r${i}`);
    }
    await journal.sync();
    journal = await reopen(journal, { maxEntries: 5 });
    expect(journal.stats().entries).toBeLessThanOrEqual(10);
    expect(journal.get('r99')?.state).toBe('sent');
    expect((await journal.reply('r99'))?.reply.stdout).toBe('99');
    expect((await lines()).every((l) => !l.includes('"sent":true,"sent":true'))).toBe(true);
  });

  it('keeps the id but drops the reply of old requests beyond the byte budget', async () => {
    const journal = await openJournal({ maxEntries: 10, maxReplyBytes: 2_000 });
    for (let i = 0; i < 12; i++) {
      await journal.finished(`r${i}`, `ur.execute-reply.n.r${i}`, `m${i}`, reply('x'.repeat(400)));
      journal.sent(`r${i}`);
    }
    await journal.sync();
    const states = Array.from({ length: 12 }, (_, i) => journal.get(`r${i}`)?.state);
    expect(states).toContain('gone');
    expect(states.at(-1)).toBe('sent');
    const gone = states.indexOf('gone');
    expect(await journal.reply(`r${gone}`)).toBeUndefined();
    expect((await journal.reply('r11'))?.reply.stdout).toHaveLength(400);
  });

  it('forgets finished ids older than the retention when it compacts', async () => {
    const journal = await openJournal({ maxEntries: 40, retentionMs: 3600_000 });
    const old = Date.now() - 2 * 3600_000;
    for (let i = 0; i < 5; i++) {
      await journal.received(`old${i}`, 'script', old);
      await journal.finished(`old${i}`, 'k', `m${i}`, reply(''));
      journal.sent(`old${i}`);
    }
    for (let i = 0; i < 30; i++) {
      await journal.received(`new${i}`, 'script');
      await journal.finished(`new${i}`, 'k', `n${i}`, reply(''));
      journal.sent(`new${i}`);
    }
    await journal.sync();
    expect(journal.get('old0')).toBeUndefined();
    expect(journal.get('new0')?.state).toBe('sent');
  });
});

describe('journal records', () => {
  it('can be told apart by their first bytes without parsing a large reply', () => {
    const line = Buffer.from(
      JSON.stringify({ k: 'done', id: 'abc-1', at: 1, key: 'k', mid: 'm', reply: {} }),
    );
    expect(peekRecord(line)).toEqual({ k: 'done', id: 'abc-1' });
    expect(peekRecord(Buffer.from('{"k":"journal","v":1}'))).toEqual({ k: 'journal', id: undefined });
    expect(peekRecord(Buffer.from('garbage'))).toBeUndefined();
  });

  it.each([
    '',
    'null',
    '[]',
    '{"k":"recv","id":"a"}',
    '{"k":"proc","id":"a","proc":{"pgid":"1"}}',
    '{"k":"zap"}',
  ])('refuses %j', (text) => {
    expect(parseRecord(text)).toBeUndefined();
  });
});

describe('state lock', () => {
  it('lets one process at a time use a state directory, and takes over a dead owner’s lock', async () => {
    const path = join(dir, 'lock');
    const release = await acquireStateLock(path);
    await expect(acquireStateLock(path)).rejects.toThrow(StateLockedError);
    await release();
    // A lock left by a process that no longer runs (as after SIGKILL).
    await writeFile(path, JSON.stringify({ pid: 2 ** 22 + 7, startTime: '1' }));
    const again = await acquireStateLock(path);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await again();
  });
});
