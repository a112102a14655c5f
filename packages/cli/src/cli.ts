import yargs from 'yargs';
import { HeadnodeClient } from './client.js';
import { installArtifact, listArtifacts, removeArtifact } from './commands/artifacts.js';
import { execOnNode } from './commands/exec.js';
import { parseSelector, SelectorError } from '@ur/protocol/wire';
import { labelNode, listNodes, nodeTransitions, parseLabelArgs, showNode } from './commands/nodes.js';
import { configPath, readCliConfig, type CliConfig } from './config-file.js';
import { forgetNodeKey, trustNodeKey } from './commands/node-keys.js';
import { describeError, exitCodeFor, ExitCodes } from './exit-codes.js';
import { DEFAULT_HEADNODE_URL, type CliIo } from './io.js';

class UsageError extends Error {}

/** Runs urctl with `argv`; resolves to the exit status. Never calls process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  let config: Promise<CliConfig> | undefined;
  // Flags, then UR_* variables, then the config file (read only when a command needs the headnode).
  const client = async (headnode: string | undefined): Promise<HeadnodeClient> => {
    config ??= readCliConfig(configPath(io.env));
    const file = await config;
    return new HeadnodeClient(
      // An empty variable counts as unset.
      headnode ?? (io.env.UR_HEADNODE_URL || file.headnode) ?? DEFAULT_HEADNODE_URL,
      io.env.UR_TOKEN || file.token,
    );
  };
  const parser = yargs(argv)
    .scriptName('urctl')
    .usage(
      '$0 <command> [options]\n\nDrive Ur nodes through the headnode. The API token comes from UR_TOKEN, ' +
        'else "token" in the config file (UR_CONFIG, default ~/.config/ur/urctl.json, mode 0600).',
    )
    .parserConfiguration({ 'populate--': true })
    .option('headnode', {
      type: 'string',
      describe: `Headnode URL (UR_HEADNODE_URL) [default: ${DEFAULT_HEADNODE_URL}]`,
      global: true,
    })
    .option('json', { type: 'boolean', default: false, describe: 'Machine-readable output', global: true })
    .command(
      'nodes',
      'List the nodes in the inventory (those a selector picks with --where)',
      (y) =>
        y
          .option('where', {
            type: 'string',
            describe: 'Node selector, e.g. "status=ready label.role=web mem_mib>=4096" (see the README)',
          })
          .example('$0 nodes --where "status=ready,os=linux"', 'Ready Linux nodes')
          .example("$0 nodes --where 'hostname~web*'", 'Nodes by hostname glob')
          .example('$0 nodes --where request_signing=off', 'Unprotected nodes (run unsigned requests)')
          .command(
            'trust <id>',
            'Pin the new key a node offers after a reinstall (or clear its key-mismatch flag); needs an admin token',
            (yy) => yy.positional('id', { type: 'string', demandOption: true }),
            async (a) => {
              exitCode = await trustNodeKey(await client(a.headnode), io, a.id, a.json);
            },
          )
          .command(
            'forget <id>',
            "Forget a node's pinned key; its next announcement pins one (trust on first use)",
            (yy) => yy.positional('id', { type: 'string', demandOption: true }),
            async (a) => {
              exitCode = await forgetNodeKey(await client(a.headnode), io, a.id, a.json);
            },
          ),
      async (a) => {
        if (a.where !== undefined) {
          try {
            parseSelector(a.where);
          } catch (err) {
            if (err instanceof SelectorError) throw new UsageError(err.message);
            throw err;
          }
        }
        exitCode = await listNodes(await client(a.headnode), io, { json: a.json, where: a.where });
      },
    )
    .command('node', 'Inspect one node', (y) =>
      y
        .command(
          'show <id>',
          'Show one node: status, facts, last heartbeat',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await showNode(await client(a.headnode), io, a.id, a.json);
          },
        )
        .command(
          'label <id> <labels..>',
          'Set labels (key=value) or remove them (key-)',
          (yy) =>
            yy
              .positional('id', { type: 'string', demandOption: true })
              .positional('labels', { type: 'string', array: true, demandOption: true })
              .example('$0 node label NODE role=web zone-', 'Set role, remove zone'),
          async (a) => {
            const labels = parseLabelArgs(a.labels.map(String));
            if (typeof labels === 'string') throw new UsageError(labels);
            exitCode = await labelNode(await client(a.headnode), io, a.id, labels, a.json);
          },
        )
        .command(
          'transitions <id>',
          'Status transitions of one node, newest first, with time and reason',
          (yy) =>
            yy
              .positional('id', { type: 'string', demandOption: true })
              .option('limit', { type: 'number', describe: 'At most this many [default: 100]' }),
          async (a) => {
            exitCode = await nodeTransitions(await client(a.headnode), io, a.id, {
              json: a.json,
              limit: a.limit,
            });
          },
        )
        .demandCommand(1, 'say what to do with the node, e.g. `urctl node show ID`'),
    )
    .command(
      'exec',
      "Run a script (after --) or a file on a node; exits with the command's exit status",
      (y) =>
        y
          .option('node', { type: 'string', demandOption: true, describe: 'Node id' })
          .option('file', {
            type: 'string',
            describe: 'Run this executable on the node; words after -- are its arguments',
          })
          .option('timeout', { type: 'number', describe: 'Seconds before the node kills the command' })
          .example("$0 exec --node NODE -- 'uname -a; uptime'", 'Run a script')
          .example('$0 exec --node NODE --file /usr/bin/df -- -h /', 'Run a file with arguments'),
      async (a) => {
        const rest = ((a['--'] as (string | number)[] | undefined) ?? []).map(String);
        if (a.file === undefined && rest.length === 0)
          throw new UsageError('give the script after --, or --file PATH');
        exitCode = await execOnNode(await client(a.headnode), io, {
          node: a.node,
          file: a.file,
          rest,
          timeout: a.timeout,
          json: a.json,
        });
      },
    )
    .command('artifacts', 'Install, remove and list software artifacts on a node', (y) =>
      y
        .command(
          'install <coordinate>',
          'Install groupId:artifactId:version on a node (a progress bar on a terminal)',
          (yy) =>
            yy
              .positional('coordinate', {
                type: 'string',
                demandOption: true,
                describe: 'groupId:artifactId:version',
              })
              .option('node', { type: 'string', demandOption: true, describe: 'Node id' })
              .option('sha256', { type: 'string', describe: 'Expected SHA-256 of the zip' })
              .option('url', { type: 'string', describe: "The zip's URL, instead of the node's repository" })
              .option('timeout', { type: 'number', describe: 'Seconds before the node gives up' })
              .example('$0 artifacts install --node NODE com.example:app:1.2.0', 'From the repository'),
          async (a) => {
            exitCode = await installArtifact(await client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              sha256: a.sha256,
              url: a.url,
              timeout: a.timeout,
              json: a.json,
            });
          },
        )
        .command(
          'remove <coordinate>',
          'Remove an installed version from a node',
          (yy) =>
            yy
              .positional('coordinate', {
                type: 'string',
                demandOption: true,
                describe: 'groupId:artifactId:version',
              })
              .option('node', { type: 'string', demandOption: true, describe: 'Node id' })
              .option('force', {
                type: 'boolean',
                default: false,
                describe: 'Even if a running service uses it',
              }),
          async (a) => {
            exitCode = await removeArtifact(await client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              force: a.force,
              json: a.json,
            });
          },
        )
        .command(
          'list',
          'List the artifacts installed on a node',
          (yy) => yy.option('node', { type: 'string', demandOption: true, describe: 'Node id' }),
          async (a) => {
            exitCode = await listArtifacts(await client(a.headnode), io, { node: a.node, json: a.json });
          },
        )
        .demandCommand(1, 'say what to do, e.g. `urctl artifacts list --node ID`'),
    )
    .demandCommand(1, 'say which command to run; see --help')
    .strict()
    .help()
    .version(false)
    .exitProcess(false)
    .fail((message: string | undefined, err: Error | undefined) => {
      throw err ?? new UsageError(message ?? 'invalid usage');
    });
  try {
    const output = await new Promise<string>((resolve, reject) => {
      parser
        .parseAsync(argv, {}, (err: Error | undefined, _args: unknown, out: string) =>
          err ? reject(err) : resolve(out),
        )
        .catch(reject);
    });
    if (output) io.stdout.write(`${output}\n`);
    return exitCode;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`urctl: ${err.message}\n`);
      return ExitCodes.USAGE;
    }
    io.stderr.write(`urctl: ${describeError(err)}\n`);
    return exitCodeFor(err);
  }
}
