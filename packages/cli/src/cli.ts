import yargs from 'yargs';
import { HeadnodeClient } from './client.js';
import { installArtifact, listArtifacts, removeArtifact } from './commands/artifacts.js';
import { execOnNode, execOnNodes } from './commands/exec.js';
import { addHook, hookDeliveries, listHooks, removeHook } from './commands/hooks.js';
import { cancelJob, listJobs, showJob, watchJob } from './commands/jobs.js';
import { watchEvents } from './commands/watch.js';
import { FanOutLimitError, isWord, parseFanOutLimit, parseSelector, SelectorError } from '@ur/protocol/wire';
import { labelNode, listNodes, nodeTransitions, parseLabelArgs, showNode } from './commands/nodes.js';
import { configPath, readCliConfig, type CliConfig } from './config-file.js';
import { forgetNodeKey, trustNodeKey } from './commands/node-keys.js';
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

function checkSelector(text: string): void {
  try {
    parseSelector(text);
  } catch (err) {
    if (err instanceof SelectorError) throw new UsageError(err.message);
    throw err;
  }
}

/** `3` or `10%` as the API takes it. */
function limitArg(field: string, value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  try {
    const limit = parseFanOutLimit(field, value);
    return limit.kind === 'count' ? limit.value : `${limit.value}%`;
  } catch (err) {
    if (err instanceof FanOutLimitError) throw new UsageError(`--${field.replace('_', '-')}: ${err.message}`);
    throw err;
  }
}

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
        if (a.where !== undefined) checkSelector(a.where);
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
      'Run a script (after --) or a file on nodes. One --node: its output, and its exit status. ' +
        'Several (--node ... | --all | --where): a job, with a progress bar, a summary table and counts',
      (y) =>
        y
          .option('node', { type: 'string', array: true, describe: 'Node id (repeat for several)' })
          .option('all', { type: 'boolean', describe: 'Every node in the inventory (down ones end offline)' })
          .option('where', { type: 'string', describe: 'The nodes a selector picks' })
          .option('file', {
            type: 'string',
            describe: 'Run this executable on the node; words after -- are its arguments',
          })
          .option('timeout', { type: 'number', describe: 'Seconds before the node kills the command' })
          .option('concurrency', { type: 'string', describe: 'Most nodes in flight: N or P% [default: all]' })
          .option('max-errors', {
            type: 'string',
            describe: 'Stop sending after N (or P%) nodes failed; the rest end skipped',
          })
          .option('stream', {
            type: 'boolean',
            default: false,
            describe: 'Print output live, prefixed with the node',
          })
          .example("$0 exec --node NODE -- 'uname -a; uptime'", 'Run a script on one node')
          .example('$0 exec --node NODE --file /usr/bin/df -- -h /', 'Run a file with arguments')
          .example(
            "$0 exec --all --concurrency 10% --max-errors 3 -- 'apt-get -y upgrade'",
            'Roll out carefully',
          )
          .example("$0 exec --where 'label.role=web' --stream -- 'tail -n 3 /var/log/syslog'", 'Live output'),
      async (a) => {
        const rest = ((a['--'] as (string | number)[] | undefined) ?? []).map(String);
        if (a.file === undefined && rest.length === 0)
          throw new UsageError('give the script after --, or --file PATH');
        const nodes = (a.node ?? []).map(String);
        const given = [nodes.length > 0, a.all === true, a.where !== undefined].filter(Boolean).length;
        if (given !== 1)
          throw new UsageError('say where to run it: --node ID (repeatable), --all or --where SELECTOR');
        const bad = nodes.find((id) => !isWord(id));
        if (bad !== undefined) throw new UsageError(`invalid node id ${JSON.stringify(bad)}`);
        const concurrency = limitArg('concurrency', a.concurrency);
        const maxErrors = limitArg('max_errors', a['max-errors']);
        if (nodes.length === 1 && !a.stream && concurrency === undefined && maxErrors === undefined) {
          exitCode = await execOnNode(await client(a.headnode), io, {
            node: nodes[0] ?? '',
            file: a.file,
            rest,
            timeout: a.timeout,
            json: a.json,
          });
          return;
        }
        if (a.where !== undefined) checkSelector(a.where);
        exitCode = await execOnNodes(await client(a.headnode), io, {
          target: a.all === true ? 'all' : (a.where ?? nodes.join(' ')),
          file: a.file,
          rest,
          timeout: a.timeout,
          concurrency,
          maxErrors,
          stream: a.stream,
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
            exitCode = await startService(await client(a.headnode), io, {
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
            exitCode = await stopService(await client(a.headnode), io, {
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
            exitCode = await drainService(await client(a.headnode), io, {
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
            exitCode = await restartService(await client(a.headnode), io, {
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
            exitCode = await listServices(await client(a.headnode), io, { node: a.node, json: a.json });
          },
        )
        .command(
          'status <coordinate>',
          'Show one service: state, process, restarts, last exits',
          (yy) => yy.positional('coordinate', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await showService(await client(a.headnode), io, {
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
            exitCode = await serviceLogs(await client(a.headnode), io, {
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
    .command('jobs', 'Jobs: a command sent to nodes, with one result per node', (y) =>
      y
        .command(
          'list',
          'Jobs, newest first',
          (yy) =>
            yy
              .option('state', { type: 'string', describe: 'running, succeeded, failed or cancelled' })
              .option('node', { type: 'string', describe: 'Only jobs that include this node' })
              .option('limit', { type: 'number', describe: 'At most this many [default: 50]' }),
          async (a) => {
            exitCode = await listJobs(await client(a.headnode), io, {
              json: a.json,
              state: a.state,
              node: a.node,
              limit: a.limit,
            });
          },
        )
        .command(
          'show <id>',
          'One job: its settings and every node result',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await showJob(await client(a.headnode), io, a.id, a.json);
          },
        )
        .command(
          'cancel <id>',
          'Cancel a job: nodes not sent yet are skipped, running ones get a cancel',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await cancelJob(await client(a.headnode), io, a.id, a.json);
          },
        )
        .command(
          'watch <id>',
          "Follow a job's events and output until it completes; exits as exec would",
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await watchJob(await client(a.headnode), io, a.id, a.json);
          },
        )
        .demandCommand(1, 'say what to do, e.g. `urctl jobs list`'),
    )
    .command('hooks', 'Webhooks: events POSTed to a URL, signed with HMAC-SHA256', (y) =>
      y
        .command(
          'add <url>',
          'Add a webhook; prints its secret (once)',
          (yy) =>
            yy
              .positional('url', { type: 'string', demandOption: true })
              .option('event', {
                type: 'string',
                array: true,
                demandOption: true,
                describe: 'Event type pattern (repeatable): node.*, job.completed, job.node.failed, *',
              })
              .option('secret', {
                type: 'string',
                describe: 'HMAC key (16+ characters) [default: generated]',
              })
              .option('description', { type: 'string' })
              .example("$0 hooks add https://ops.example/ur --event 'node.down' --event job.completed", ''),
          async (a) => {
            exitCode = await addHook(await client(a.headnode), io, {
              url: a.url,
              events: a.event.map(String),
              secret: a.secret,
              description: a.description,
              json: a.json,
            });
          },
        )
        .command(
          'list',
          'The webhooks, with deliveries pending and failed',
          () => undefined,
          async (a) => {
            exitCode = await listHooks(await client(a.headnode), io, a.json);
          },
        )
        .command(
          'rm <id>',
          'Remove a webhook',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await removeHook(await client(a.headnode), io, a.id);
          },
        )
        .command(
          'deliveries <id>',
          "A webhook's deliveries, newest first",
          (yy) =>
            yy
              .positional('id', { type: 'string', demandOption: true })
              .option('status', { type: 'string', describe: 'pending, delivered or failed' })
              .option('limit', { type: 'number', describe: 'At most this many [default: 100]' }),
          async (a) => {
            exitCode = await hookDeliveries(await client(a.headnode), io, a.id, {
              status: a.status,
              limit: a.limit,
              json: a.json,
            });
          },
        )
        .demandCommand(1, 'say what to do, e.g. `urctl hooks list`'),
    )
    .command(
      'watch',
      'Follow events (node.*, job.*) as they happen, one line each',
      (y) =>
        y
          .option('types', {
            type: 'string',
            describe: 'Comma-separated patterns, e.g. "node.*,job.completed"',
          })
          .option('after', { type: 'string', describe: 'Replay stored events after this event id first' })
          .option('count', { type: 'number', describe: 'Stop after this many events' }),
      async (a) => {
        exitCode = await watchEvents(await client(a.headnode), io, {
          types: a.types,
          after: a.after,
          json: a.json,
          count: a.count,
        });
      },
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
