import type { UrEvent } from '@ur/protocol';
import { HeadnodeUnreachableError, type HeadnodeClient } from '../client.js';

/** An `output` message of a job's event stream. */
export interface OutputChunk {
  job_id: string;
  node_id: string;
  request_id: string;
  stream: 'stdout' | 'stderr';
  data: string;
  at: string;
}

export interface JobFollower {
  onEvent(event: UrEvent): void;
  onOutput?(chunk: OutputChunk): void;
}

/** How long urctl keeps trying to reconnect to a headnode that went away (restarting). */
const RECONNECT_FOR_MS = 120_000;
const RECONNECT_DELAY_MS = 1_000;

/**
 * Follows a job's event stream until job.completed, from its first event;
 * if the connection drops (a headnode restart), reconnects and resumes
 * after the last event id seen.
 */
export async function followJob(client: HeadnodeClient, jobId: string, follower: JobFollower): Promise<void> {
  let lastId: string | undefined;
  let downSince: number | undefined;
  for (;;) {
    try {
      for await (const message of client.stream(`/v1/jobs/${encodeURIComponent(jobId)}/events`, lastId)) {
        downSince = undefined;
        if (message.id !== undefined) lastId = message.id;
        if (message.event === 'output') {
          follower.onOutput?.(JSON.parse(message.data) as OutputChunk);
          continue;
        }
        const event = JSON.parse(message.data) as UrEvent;
        follower.onEvent(event);
        if (event.type === 'job.completed') return;
      }
    } catch (err) {
      if (!(err instanceof HeadnodeUnreachableError)) throw err;
      downSince ??= Date.now();
      if (Date.now() - downSince > RECONNECT_FOR_MS) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
  }
}
