import type { Kysely, Selectable } from 'kysely';
import { generateToken, parseToken, secretMatches } from '../auth/api-tokens.js';
import type { ApiRole } from '../auth/roles.js';
import type { ApiTokensTable, Database } from './schema.js';

export type TokenRow = Omit<Selectable<ApiTokensTable>, 'hash'>;

/** Who a request is, once its token checked out. */
export interface Authenticated {
  id: string;
  name: string;
  role: ApiRole;
}

/** API tokens: created and revoked with `ur-headnode tokens`, checked on every API request. */
export class TokenStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /** Creates a token; the returned `token` is the only time its secret exists outside the caller. */
  async create(name: string, role: ApiRole, now = Date.now()): Promise<TokenRow & { token: string }> {
    const { id, token, hash } = generateToken();
    const row = { id, name, role, hash, created_at: now, revoked_at: null };
    await this.#db.insertInto('api_tokens').values(row).execute();
    return { id, name, role, created_at: now, revoked_at: null, token };
  }

  list(): Promise<TokenRow[]> {
    return this.#db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'role', 'created_at', 'revoked_at'])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /** False if there is no such token (or it was revoked before). */
  async revoke(id: string, now = Date.now()): Promise<boolean> {
    const result = await this.#db
      .updateTable('api_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** True once any token that is not revoked exists: from then on the API needs one. */
  async required(): Promise<boolean> {
    const row = await this.#db
      .selectFrom('api_tokens')
      .select('id')
      .where('revoked_at', 'is', null)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /** The token's holder, or undefined for a malformed, unknown or revoked token. */
  async authenticate(token: string): Promise<Authenticated | undefined> {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const row = await this.#db
      .selectFrom('api_tokens')
      .select(['id', 'name', 'role', 'hash', 'revoked_at'])
      .where('id', '=', parsed.id)
      .executeTakeFirst();
    if (!secretMatches(parsed.secret, row?.hash) || !row || row.revoked_at !== null) return undefined;
    return { id: row.id, name: row.name, role: row.role };
  }
}
