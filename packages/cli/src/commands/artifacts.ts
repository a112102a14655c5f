import type { ArtifactInstallBody, InstalledArtifact } from '@ur/protocol';
import type { HeadnodeClient } from '../client.js';
import { artifactsTable } from '../format.js';
import type { CliIo } from '../io.js';
import { ProgressBar } from '../progress-bar.js';

export interface InstallArgs {
  node: string;
  coordinate: string;
  sha256: string | undefined;
  url: string | undefined;
  timeout: number | undefined;
  json: boolean;
}

const MiB = 1024 * 1024;

/**
 * Installs an artifact on a node. On a terminal the node's progress is
 * shown as a bar (on stderr, so stdout stays the result).
 */
export async function installArtifact(client: HeadnodeClient, io: CliIo, args: InstallArgs): Promise<number> {
  const body: ArtifactInstallBody = { coordinate: args.coordinate };
  if (args.sha256 !== undefined) body.sha256 = args.sha256;
  if (args.url !== undefined) body.url = args.url;
  if (args.timeout !== undefined) body.timeout = args.timeout;
  let result;
  if (io.stdout.isTTY === true && !args.json) {
    const bar = new ProgressBar(io.stderr, args.coordinate);
    try {
      result = await client.installArtifactStreaming(args.node, body, (event) => bar.update(event));
    } finally {
      bar.stop();
    }
  } else {
    result = await client.installArtifact(args.node, body);
  }
  if (args.json) {
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    const what = `${result.coordinate} on ${args.node}: ${result.path} (${result.files} files, ${(result.size / MiB).toFixed(1)} MiB, sha256 ${result.sha256 ?? '-'})`;
    io.stdout.write(result.already_installed ? `already installed: ${what}\n` : `installed ${what}\n`);
  }
  return 0;
}

export async function removeArtifact(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; coordinate: string; force: boolean; json: boolean },
): Promise<number> {
  const result = await client.removeArtifact(args.node, args.coordinate, args.force);
  if (args.json) io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    io.stdout.write(
      `removed ${result.coordinate} from ${args.node}${result.forced ? ' (it was in use)' : ''}\n`,
    );
  return 0;
}

export async function listArtifacts(
  client: HeadnodeClient,
  io: CliIo,
  args: { node: string; json: boolean },
): Promise<number> {
  const { artifacts } = await client.listArtifacts(args.node);
  if (args.json) {
    io.stdout.write(`${JSON.stringify(artifacts satisfies InstalledArtifact[], null, 2)}\n`);
  } else if (artifacts.length === 0) {
    io.stderr.write(`no artifacts installed on ${args.node}\n`);
  } else {
    io.stdout.write(`${artifactsTable(artifacts)}\n`);
  }
  return 0;
}
