import { mkdir, rm } from 'node:fs/promises';
import type { ExecuteReply, Logger } from '@ur/protocol/wire';
import { errorReply } from './command-reply.js';
import type { Journal, JournalEntry } from './journal/journal.js';
import { killOrphanGroup, type OrphanOutcome } from './journal/process-identity.js';

export interface Interrupted {
  entry: JournalEntry;
  reply: ExecuteReply;
}

/**
 * What a previous agent process left behind when it died: requests it
 * received (and acked) but never answered. Kills what is left of their
 * process groups (only if the recorded leader start time still matches, so
 * never a reused pid), empties the script directory, and returns an
 * INTERRUPTED reply for each, in the order they were received.
 */
export async function recoverInterrupted(
  journal: Journal,
  scriptDir: string,
  killGraceMs: number,
  logger: Logger,
): Promise<Interrupted[]> {
  const entries = journal.running();
  if (entries.length > 0) {
    logger.warn('a previous agent process died with requests running; they are answered INTERRUPTED', {
      requests: entries.map((e) => e.id),
    });
  }
  const outcomes = await Promise.all(
    entries.map(async (entry): Promise<OrphanOutcome> => {
      if (!entry.process) return 'gone';
      const outcome = await killOrphanGroup(entry.process, killGraceMs);
      if (outcome === 'killed') {
        logger.warn('killed the processes an interrupted request left running', {
          requestId: entry.id,
          pgid: entry.process.pgid,
        });
      }
      return outcome;
    }),
  );
  // Script bodies of commands that never got to delete them.
  await rm(scriptDir, { recursive: true, force: true });
  await mkdir(scriptDir, { recursive: true, mode: 0o700 });
  return entries.map((entry, i) => {
    const killed = outcomes[i] === 'killed' ? '; its remaining processes were killed' : '';
    const reply = errorReply({
      code: 'INTERRUPTED',
      message: `the agent stopped (crash or kill) while request ${entry.id} ran${killed}; it may have partly run`,
    });
    reply.started_at = new Date(entry.at).toISOString();
    reply.duration_ms = Math.max(0, Date.parse(reply.finished_at ?? '') - entry.at);
    return { entry, reply };
  });
}
