import { readFile } from 'node:fs/promises';

/** The account services run as; undefined fields mean "as the agent". */
export interface ServiceAccount {
  name: string;
  uid: number | undefined;
  gid: number | undefined;
}

/** The configured service user does not exist or cannot be used. */
export class ServiceUserError extends Error {
  readonly user: string;

  constructor(user: string, reason: string) {
    super(`service user ${JSON.stringify(user)}: ${reason}`);
    this.name = 'ServiceUserError';
    this.user = user;
  }
}

const NUMERIC = /^(\d+)(?::(\d+))?$/;

async function passwdEntry(name: string): Promise<{ uid: number; gid: number } | undefined> {
  let text: string;
  try {
    text = await readFile('/etc/passwd', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/**
 * Resolves the `serviceUser` option. Only root can run processes as
 * another user; an agent that is not root runs services as itself (and the
 * read-only software tree then protects against accidents only: an owner
 * may chmod its files back). As root, `root` (or 0) runs services as root.
 */
export async function resolveServiceAccount(user: string, isRoot: boolean): Promise<ServiceAccount> {
  if (!isRoot) return { name: 'the agent user', uid: undefined, gid: undefined };
  const numeric = NUMERIC.exec(user);
  if (numeric) {
    const uid = Number(numeric[1]);
    const gid = numeric[2] !== undefined ? Number(numeric[2]) : uid;
    return uid === 0 ? { name: 'root', uid: undefined, gid: undefined } : { name: user, uid, gid };
  }
  if (user === 'root') return { name: 'root', uid: undefined, gid: undefined };
  const entry = await passwdEntry(user);
  if (!entry) throw new ServiceUserError(user, 'not in /etc/passwd');
  return { name: user, uid: entry.uid, gid: entry.gid };
}
