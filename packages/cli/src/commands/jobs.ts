import type { JobDetail, UrEvent } from '@ur/protocol';
import type { HeadnodeClient } from '../client.js';
import { exitCodeForJob } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { countsLine, eventLine, jobDetails, jobsTable } from '../job-format.js';
import { LinePrefixer } from '../line-prefixer.js';
import { followJob } from './follow-job.js';

export async function listJobs(
  client: HeadnodeClient,
  io: CliIo,
  options: { json: boolean; state: string | undefined; node: string | undefined; limit: number | undefined },
): Promise<number> {
  const { jobs } = await client.listJobs({
    state: options.state,
    node_id: options.node,
    limit: options.limit,
  });
  if (options.json) io.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
  else if (jobs.length === 0) io.stderr.write('no jobs\n');
  else io.stdout.write(`${jobsTable(jobs)}\n`);
  return 0;
}

export async function showJob(client: HeadnodeClient, io: CliIo, id: string, json: boolean): Promise<number> {
  const job: JobDetail = await client.getJob(id);
  io.stdout.write(json ? `${JSON.stringify(job, null, 2)}\n` : `${jobDetails(job)}\n`);
  return 0;
}

export async function cancelJob(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  json: boolean,
): Promise<number> {
  const job = await client.cancelJob(id);
  if (json) {
    io.stdout.write(`${JSON.stringify(job, null, 2)}\n`);
  } else {
    const inFlight = job.counts.sent + job.counts.accepted + job.counts.running;
    io.stdout.write(
      `job ${job.id}: cancel requested; ${job.counts.cancelled} not sent, ${inFlight} in flight get a cancel\n`,
    );
  }
  return 0;
}

/** Follows a job: one line per event (and its output, prefixed), until it completes; exits as `exec` would. */
export async function watchJob(
  client: HeadnodeClient,
  io: CliIo,
  id: string,
  json: boolean,
): Promise<number> {
  const prefixer = new LinePrefixer((stream, text) =>
    (stream === 'stdout' ? io.stdout : io.stderr).write(text),
  );
  await followJob(client, id, {
    onEvent: (event: UrEvent) => {
      prefixer.flush();
      io.stdout.write(json ? `${JSON.stringify(event)}\n` : `${eventLine(event)}\n`);
    },
    onOutput: (chunk) => {
      if (json) io.stdout.write(`${JSON.stringify({ type: 'output', ...chunk })}\n`);
      else prefixer.push(chunk.node_id, chunk.stream, chunk.data);
    },
  });
  prefixer.flush();
  const job = await client.getJob(id, false);
  if (!json) io.stdout.write(`${countsLine(job)}\n`);
  return exitCodeForJob(job.counts);
}
