import type { ExecuteReply } from '@ur/protocol/wire';

/** Bumped when the journal's record format changes incompatibly. */
export const JOURNAL_FORMAT = 1;

/**
 * Identifies a command's process group across an agent restart, so that a
 * restarted agent kills what its predecessor left running and never a process
 * that merely got the same pid later.
 */
export interface ProcessIdentity {
  /** The group leader's pid, which is also the process group id. */
  pgid: number;
  /** The leader's start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: string;
  /** /proc/sys/kernel/random/boot_id: after a reboot nothing of the group can be left. */
  bootId: string;
}

/**
 * One line of `journal.log`. Every request id goes through `recv` (written
 * and fsync'd before the request is acked), `proc` (its process group, once
 * started), `done` (the complete reply, fsync'd before it is published: this
 * is the outbox) and `sent` (the broker confirmed the reply). A request that
 * was refused without running has only `done`. Compaction folds `sent` into
 * `done` (`"sent":true`) and writes `gone` for ids whose reply it no longer
 * keeps.
 */
export type JournalRecord =
  | { k: 'journal'; v: number }
  | { k: 'recv'; id: string; at: number; type: string }
  | { k: 'proc'; id: string; proc: ProcessIdentity }
  | { k: 'done'; id: string; at: number; key: string; mid: string; reply: ExecuteReply; sent?: true }
  | { k: 'sent'; id: string }
  | { k: 'gone'; id: string; at: number };

export type RecordKind = JournalRecord['k'];

export function encodeRecord(record: JournalRecord): Buffer {
  return Buffer.from(`${JSON.stringify(record)}\n`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

function isProcessIdentity(v: unknown): v is ProcessIdentity {
  return (
    isObject(v) && Number.isInteger(v.pgid) && typeof v.startTime === 'string' && typeof v.bootId === 'string'
  );
}

/** Parses one line; undefined for anything that is not a well-formed record. */
export function parseRecord(line: Buffer | string): JournalRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(typeof line === 'string' ? line : line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!isObject(value)) return undefined;
  if (value.k === 'journal') return Number.isInteger(value.v) ? (value as JournalRecord) : undefined;
  if (typeof value.id !== 'string') return undefined;
  switch (value.k) {
    case 'recv':
      return typeof value.at === 'number' && typeof value.type === 'string'
        ? (value as JournalRecord)
        : undefined;
    case 'proc':
      return isProcessIdentity(value.proc) ? (value as JournalRecord) : undefined;
    case 'done':
      return typeof value.at === 'number' &&
        typeof value.key === 'string' &&
        typeof value.mid === 'string' &&
        isObject(value.reply)
        ? (value as JournalRecord)
        : undefined;
    case 'sent':
      return value as JournalRecord;
    case 'gone':
      return typeof value.at === 'number' ? (value as JournalRecord) : undefined;
    default:
      return undefined;
  }
}

/** A `done` line with `"sent":true` added, without parsing it (it ends with the object's closing brace). */
export function markSent(doneLine: Buffer): Buffer {
  if (doneLine.subarray(-SENT_SUFFIX.length).equals(SENT_SUFFIX)) return doneLine;
  return Buffer.concat([doneLine.subarray(0, doneLine.length - 1), SENT_SUFFIX]);
}

const SENT_SUFFIX = Buffer.from(',"sent":true}');

/**
 * Reads the kind and id from the start of a line without parsing the rest
 * (a `done` line holds up to a few MiB of output). Relies on `encodeRecord`
 * writing `k` and `id` first, and on ids being routing-key words (no escapes).
 */
export function peekRecord(line: Buffer): { k: RecordKind; id: string | undefined } | undefined {
  const head = /^\{"k":"(journal|recv|proc|done|sent|gone)"(?:,"id":"([^"\\]*)")?/.exec(
    line.subarray(0, 200).toString('latin1'),
  );
  if (!head) return undefined;
  return { k: head[1] as RecordKind, id: head[2] };
}
