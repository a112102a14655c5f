import { AdminUsageError, EXIT_FAILURE, EXIT_USAGE, type AdminIo } from './admin-io.js';
import { KEYGEN_USAGE, keygenCommand } from './keygen-command.js';
import { TOKENS_USAGE, tokensCommand } from './tokens-command.js';

const COMMANDS = {
  keygen: { run: keygenCommand, usage: KEYGEN_USAGE },
  tokens: { run: tokensCommand, usage: TOKENS_USAGE },
} as const;

/**
 * Runs `ur-headnode <subcommand>` if argv starts with one; resolves to its
 * exit status, or to undefined when argv is the server's flags.
 */
export async function runAdminCommand(argv: string[], io: AdminIo): Promise<number | undefined> {
  const [name, ...args] = argv;
  if (name === undefined || !Object.hasOwn(COMMANDS, name)) return undefined;
  const command = COMMANDS[name as keyof typeof COMMANDS];
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    const parseError = String((err as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS');
    if (err instanceof AdminUsageError || parseError) {
      io.stderr.write(`ur-headnode ${name}: ${(err as Error).message}\n\n${command.usage}\n`);
      return EXIT_USAGE;
    }
    io.stderr.write(`ur-headnode ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAILURE;
  }
}
