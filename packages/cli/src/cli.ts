import yargs from 'yargs';
import { HeadnodeClient } from './client.js';
import { installArtifact, listArtifacts, removeArtifact } from './commands/artifacts.js';
import { execOnNode } from './commands/exec.js';
import { parseSelector, SelectorError } from '@ur/protocol/wire';
import { labelNode, listNodes, nodeTransitions, parseLabelArgs, showNode } from './commands/nodes.js';
import {
  drainService,
  listServices,
  parseJsonObject,
  parseOptionArgs,
  restartService,
  serviceLogs,
  showService,
  startService,
  stopService,
} from './commands/services.js';
import { describeError, exitCodeFor, ExitCodes } from './exit-codes.js';
import { DEFAULT_HEADNODE_URL, type CliIo } from './io.js';

class UsageError extends Error {}

/** Runs urctl with `argv`; resolves to the exit status. Never calls process.exit. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const client = (headnode: string | undefined): HeadnodeClient =>
    new HeadnodeClient(headnode ?? io.env.UR_HEADNODE_URL ?? DEFAULT_HEADNODE_URL);
  const parser = yargs(argv)
    .scriptName('urctl')
    .usage('$0 <command> [options]\n\nDrive Ur nodes through the headnode.')
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
          .example("$0 nodes --where 'hostname~web*'", 'Nodes by hostname glob'),
      async (a) => {
        if (a.where !== undefined) {
          try {
            parseSelector(a.where);
          } catch (err) {
            if (err instanceof SelectorError) throw new UsageError(err.message);
            throw err;
          }
        }
        exitCode = await listNodes(client(a.headnode), io, { json: a.json, where: a.where });
      },
    )
    .command('node', 'Inspect one node', (y) =>
      y
        .command(
          'show <id>',
          'Show one node: status, facts, last heartbeat',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await showNode(client(a.headnode), io, a.id, a.json);
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
            exitCode = await labelNode(client(a.headnode), io, a.id, labels, a.json);
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
            exitCode = await nodeTransitions(client(a.headnode), io, a.id, { json: a.json, limit: a.limit });
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
        exitCode = await execOnNode(client(a.headnode), io, {
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
            exitCode = await installArtifact(client(a.headnode), io, {
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
            exitCode = await removeArtifact(client(a.headnode), io, {
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
            exitCode = await listArtifacts(client(a.headnode), io, { node: a.node, json: a.json });
          },
        )
        .demandCommand(1, 'say what to do, e.g. `urctl artifacts list --node ID`'),
    )
    .command('services', 'Start, stop, drain, restart, list and read the logs of services on a node', (y) =>
      y
        .option('node', { type: 'string', demandOption: true, describe: 'Node id' })
        .command(
          'start <coordinate>',
          'Start a service (instance.service.user.cell) from an installed artifact',
          (yy) =>
            yy
              .positional('coordinate', {
                type: 'string',
                demandOption: true,
                describe: 'instance.service.user.cell',
              })
              .option('artifact', {
                type: 'string',
                demandOption: true,
                describe: 'groupId:artifactId:version',
              })
              .option('option', {
                type: 'string',
                array: true,
                describe: 'An option, key=value (JSON values such as 8080 or true are typed); repeatable',
              })
              .option('options', {
                type: 'string',
                describe: 'All options as a JSON object (--option adds to it)',
              })
              .option('restart', {
                type: 'string',
                choices: ['always', 'on-failure', 'never'],
                describe: 'Restart policy [default: the manifest’s, else always]',
              })
              .option('max-restarts', { type: 'number', describe: 'Restarts allowed within --window' })
              .option('window', { type: 'number', describe: 'Crash-loop window in seconds' })
              .option('overrides', {
                type: 'string',
                describe: 'Manifest fields to replace, as a JSON object',
              })
              .option('timeout', { type: 'number', describe: 'Seconds to wait for it to come up' })
              .example(
                '$0 services start --node NODE 1.web.ops.eu --artifact com.example:web:1.2.0 --option port=8080',
                'Start instance 1 of web',
              ),
          async (a) => {
            const base = parseJsonObject('--options', a.options);
            if (typeof base === 'string') throw new UsageError(base);
            const options = parseOptionArgs((a.option ?? []).map(String), base ?? {});
            if (typeof options === 'string') throw new UsageError(options);
            const overrides = parseJsonObject('--overrides', a.overrides);
            if (typeof overrides === 'string') throw new UsageError(overrides);
            const restart: Record<string, unknown> = {};
            if (a.restart !== undefined) restart.policy = a.restart;
            if (a['max-restarts'] !== undefined) restart.max_restarts = a['max-restarts'];
            if (a.window !== undefined) restart.window_s = a.window;
            exitCode = await startService(client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              artifact: a.artifact,
              options,
              restart: Object.keys(restart).length > 0 ? restart : undefined,
              overrides,
              timeout: a.timeout,
              json: a.json,
            });
          },
        )
        .command(
          'stop <coordinate>',
          'Stop a service: its stop signal to its process group, SIGKILL after its stop timeout',
          (yy) =>
            yy
              .positional('coordinate', { type: 'string', demandOption: true })
              .option('forget', { type: 'boolean', default: false, describe: 'Also forget it on the node' }),
          async (a) => {
            exitCode = await stopService(client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              forget: a.forget,
              json: a.json,
            });
          },
        )
        .command(
          'drain <coordinate>',
          'Drain a service: its drain signal, no restart; wait for it to exit on its own',
          (yy) =>
            yy.positional('coordinate', { type: 'string', demandOption: true }).option('drain-timeout', {
              type: 'number',
              describe: 'Seconds to wait [default: the service’s]',
            }),
          async (a) => {
            exitCode = await drainService(client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              drainTimeout: a['drain-timeout'],
              json: a.json,
            });
          },
        )
        .command(
          'restart <coordinate>',
          'Restart a service (stop, then start as it was started)',
          (yy) => yy.positional('coordinate', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await restartService(client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              json: a.json,
            });
          },
        )
        .command(
          'list',
          "List a node's services",
          (yy) => yy,
          async (a) => {
            exitCode = await listServices(client(a.headnode), io, { node: a.node, json: a.json });
          },
        )
        .command(
          'status <coordinate>',
          'Show one service: state, process, restarts, last exits',
          (yy) => yy.positional('coordinate', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await showService(client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              json: a.json,
            });
          },
        )
        .command(
          'logs <coordinate>',
          "Print a service's last output lines; -f follows new output",
          (yy) =>
            yy
              .positional('coordinate', { type: 'string', demandOption: true })
              .option('lines', { alias: 'n', type: 'number', default: 100, describe: 'Last lines to print' })
              .option('follow', {
                alias: 'f',
                type: 'boolean',
                default: false,
                describe: 'Follow new output',
              })
              .option('timeout', { type: 'number', describe: 'Seconds to follow [default: the headnode’s]' }),
          async (a) => {
            exitCode = await serviceLogs(client(a.headnode), io, {
              node: a.node,
              coordinate: a.coordinate,
              lines: a.lines,
              follow: a.follow,
              timeout: a.timeout,
              json: a.json,
            });
          },
        )
        .demandCommand(1, 'say what to do, e.g. `urctl services list --node ID`'),
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
