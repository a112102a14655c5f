import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AGENT_NODE_FLAGS } from '@ur/agent';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const AGENT_BIN = join(ROOT, 'packages/agent/dist/ur-agent.mjs');
/** `node` arguments that start ur-agent the way the image does: its Node flags, then the script. */
export const AGENT_LAUNCH: readonly string[] = [...AGENT_NODE_FLAGS, AGENT_BIN];
export const HEADNODE_BIN = join(ROOT, 'packages/headnode/dist/bin/ur-headnode.js');
export const URCTL_BIN = join(ROOT, 'packages/cli/dist/bin/urctl.js');

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs a command to completion, as a user at a shell would. */
export function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CommandResult> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}
