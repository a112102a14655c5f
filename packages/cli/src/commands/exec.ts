import type { ExecuteBody } from '@ur/protocol';
import type { HeadnodeClient } from '../client.js';
import type { CliIo } from '../io.js';

export interface ExecArgs {
  node: string;
  /** Run this executable on the node; otherwise `rest` is the script. */
  file: string | undefined;
  /** Words after `--`: the script, or the file's arguments. */
  rest: string[];
  timeout: number | undefined;
  json: boolean;
}

export function execBody(args: ExecArgs): ExecuteBody {
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
