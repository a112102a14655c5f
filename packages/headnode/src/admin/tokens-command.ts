import { parseArgs } from 'node:util';
import { silentLogger } from '@ur/protocol';
import { API_ROLES, isApiRole } from '../auth/roles.js';
import { openDatabase } from '../store/open-database.js';
import { TokenStore } from '../store/token-store.js';
import { DEFAULT_DB } from '../options.js';
import { AdminUsageError, type AdminIo } from './admin-io.js';

export const TOKENS_USAGE = `ur-headnode tokens create --db DB --role read|operate|admin [--name NAME]
ur-headnode tokens list --db DB [--json]
ur-headnode tokens revoke --db DB ID

API tokens. Once one exists, every API route but /v1/ping needs a token
(Authorization: Bearer <token>; urctl reads UR_TOKEN). read: look only;
operate: also run commands, label and reserve; admin: also trust node keys.
create prints the token once; only its hash is stored. --db defaults to
UR_HEADNODE_DB, else ${DEFAULT_DB}.`;

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString());

/** `ur-headnode tokens create|list|revoke`, run against the headnode's database. */
export async function tokensCommand(args: string[], io: AdminIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      db: { type: 'string' },
      role: { type: 'string' },
      name: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const [action, ...rest] = positionals;
  if (action !== 'create' && action !== 'list' && action !== 'revoke') {
    throw new AdminUsageError('say create, list or revoke');
  }
  if (action === 'create' && !isApiRole(values.role)) {
    throw new AdminUsageError(`--role must be one of ${API_ROLES.join(', ')}`);
  }
  if (action === 'revoke' && rest.length !== 1) throw new AdminUsageError('revoke takes one token id');
  if (action !== 'revoke' && rest.length > 0) throw new AdminUsageError(`unexpected ${rest.join(' ')}`);

  const { db } = await openDatabase(values.db ?? io.env.UR_HEADNODE_DB ?? DEFAULT_DB, silentLogger);
  try {
    const tokens = new TokenStore(db);
    switch (action) {
      case 'create': {
        const role = values.role;
        if (!isApiRole(role)) return 64; // checked above; narrows the type
        const created = await tokens.create(values.name ?? `${role} token`, role);
        io.stdout.write(`${created.token}\n`);
        io.stderr.write(
          `created token ${created.id} (${created.name}, role ${role}); it is shown only this once\n`,
        );
        return 0;
      }
      case 'list': {
        const rows = await tokens.list();
        if (values.json) {
          io.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        } else {
          for (const r of rows) {
            io.stdout.write(
              `${r.id}  ${r.role.padEnd(7)}  ${iso(r.created_at)}  revoked ${iso(r.revoked_at)}  ${r.name}\n`,
            );
          }
        }
        return 0;
      }
      case 'revoke': {
        const id = rest[0]!;
        if (!(await tokens.revoke(id))) {
          io.stderr.write(`ur-headnode: no token ${id}, or it is already revoked\n`);
          return 1;
        }
        io.stderr.write(`revoked token ${id}\n`);
        return 0;
      }
    }
  } finally {
    await db.destroy();
  }
}
