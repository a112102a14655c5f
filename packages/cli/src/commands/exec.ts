import type { ExecuteBody, JobCommand, JobCreateBody, UrEvent } from '@ur/protocol';
import { isFinalNodeState } from '@ur/protocol/wire';
import type { HeadnodeClient } from '../client.js';
import { exitCodeForJob } from '../exit-codes.js';
import type { CliIo } from '../io.js';
import { countsLine, nodeResultsTable } from '../job-format.js';
import { LinePrefixer } from '../line-prefixer.js';
import { JobProgress } from '../progress.js';
import { followJob } from './follow-job.js';

export interface ExecArgs {
  node: string;
  /** Run this executable on the node; otherwise `rest` is the script. */
  file: string | undefined;
  /** Words after `--`: the script, or the file's arguments. */
  rest: string[];
  timeout: number | undefined;
  json: boolean;
}

export function execBody(args: Omit<ExecArgs, 'node' | 'json'>): ExecuteBody & JobCommand {
  const timeout = args.timeout === undefined ? {} : { timeout: args.timeout };
  if (args.file !== undefined) return { type: 'file', file: args.file, args: args.rest, ...timeout };
  return { type: 'script', script: args.rest.join(' '), ...timeout };
}

/** Runs one command on one node; exits with the command's exit status. */
export async function execOnNode(client: HeadnodeClient, io: CliIo, args: ExecArgs): Promise<number> {
  const reply = await client.execute(args.node, execBody(args));
  if (args.json) {
    io.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
  } else {
    io.stdout.write(reply.stdout);
    io.stderr.write(reply.stderr);
    if (reply.stdout_truncated || reply.stderr_truncated) {
      io.stderr.write(
        `urctl: output truncated by the agent (stdout ${reply.stdout_bytes} bytes, stderr ${reply.stderr_bytes} bytes)\n`,
      );
    }
    if (reply.timed_out) io.stderr.write(`urctl: killed on node ${args.node} after its timeout\n`);
  }
  return Math.min(255, Math.max(0, reply.exit_status));
}

export interface FanOutArgs {
  /** A selector: node ids, `all`, or conditions. */
  target: string;
  file: string | undefined;
  rest: string[];
  timeout: number | undefined;
  concurrency: number | string | undefined;
  maxErrors: number | string | undefined;
  stream: boolean;
  json: boolean;
}

/**
 * Runs one command on many nodes as a job: a progress bar on a terminal,
 * live output prefixed with the node with --stream, then a table of every
 * node's result and a line of counts. Non-zero if any node did not succeed.
 */
export async function execOnNodes(client: HeadnodeClient, io: CliIo, args: FanOutArgs): Promise<number> {
  const body: JobCreateBody = {
    target: args.target,
    command: execBody({ file: args.file, rest: args.rest, timeout: undefined }),
    ...(args.timeout === undefined ? {} : { timeout: args.timeout }),
    ...(args.concurrency === undefined ? {} : { concurrency: args.concurrency }),
    ...(args.maxErrors === undefined ? {} : { max_errors: args.maxErrors }),
    ...(args.stream ? { stream: true } : {}),
  };
  const job = await client.createJob(body);
  if (!args.json) io.stderr.write(`urctl: job ${job.id} on ${job.total} node${job.total === 1 ? '' : 's'}\n`);
  const bar = !args.json && io.stderr.isTTY === true ? new JobProgress(io.stderr, job.total) : undefined;
  const prefixer = new LinePrefixer((stream, text) => {
    if (bar) bar.log(text.trimEnd());
    else (stream === 'stdout' ? io.stdout : io.stderr).write(text);
  });
  let finished = 0;
  let notOk = 0;
  try {
    await followJob(client, job.id, {
      onEvent: (event: UrEvent) => {
        if (!('node_id' in event) || !('job_id' in event) || !isFinalNodeState(event.data.state)) return;
        finished++;
        if (event.data.state !== 'succeeded') notOk++;
        bar?.update(finished, notOk);
      },
      onOutput: (chunk) => {
        if (args.stream && !args.json) prefixer.push(chunk.node_id, chunk.stream, chunk.data);
      },
    });
  } finally {
    prefixer.flush();
    bar?.stop();
  }
  const detail = await client.getJob(job.id, true);
  if (args.json) {
    io.stdout.write(`${JSON.stringify(detail, null, 2)}\n`);
  } else {
    io.stdout.write(`${nodeResultsTable(detail.nodes)}\n\n${countsLine(detail)}\n`);
  }
  return exitCodeForJob(detail.counts);
}
