import yargs from 'yargs';
import { FanOutLimitError, isWord, parseFanOutLimit, parseSelector, SelectorError } from '@ur/protocol/wire';
import { HeadnodeClient } from './client.js';
import { execOnNode, execOnNodes } from './commands/exec.js';
import { addHook, hookDeliveries, listHooks, removeHook } from './commands/hooks.js';
import { cancelJob, listJobs, showJob, watchJob } from './commands/jobs.js';
import { watchEvents } from './commands/watch.js';
import { labelNode, listNodes, nodeTransitions, parseLabelArgs, showNode } from './commands/nodes.js';
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
        if (a.where !== undefined) checkSelector(a.where);
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
          exitCode = await execOnNode(client(a.headnode), io, {
            node: nodes[0] ?? '',
            file: a.file,
            rest,
            timeout: a.timeout,
            json: a.json,
          });
          return;
        }
        if (a.where !== undefined) checkSelector(a.where);
        exitCode = await execOnNodes(client(a.headnode), io, {
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
            exitCode = await listJobs(client(a.headnode), io, {
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
            exitCode = await showJob(client(a.headnode), io, a.id, a.json);
          },
        )
        .command(
          'cancel <id>',
          'Cancel a job: nodes not sent yet are skipped, running ones get a cancel',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await cancelJob(client(a.headnode), io, a.id, a.json);
          },
        )
        .command(
          'watch <id>',
          "Follow a job's events and output until it completes; exits as exec would",
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await watchJob(client(a.headnode), io, a.id, a.json);
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
            exitCode = await addHook(client(a.headnode), io, {
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
            exitCode = await listHooks(client(a.headnode), io, a.json);
          },
        )
        .command(
          'rm <id>',
          'Remove a webhook',
          (yy) => yy.positional('id', { type: 'string', demandOption: true }),
          async (a) => {
            exitCode = await removeHook(client(a.headnode), io, a.id);
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
            exitCode = await hookDeliveries(client(a.headnode), io, a.id, {
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
        exitCode = await watchEvents(client(a.headnode), io, {
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
