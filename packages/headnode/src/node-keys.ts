import { parsePublicKey, signedBy, type Logger, type PublicKey, type ReceivedMessage } from '@ur/protocol';
import type { NodeKeyStore } from './store/node-key-store.js';

export type Judgement = { ok: true } | { ok: false; offered: string | null; reason: string };

function publicKeyOrNull(text: unknown): PublicKey | null {
  if (typeof text !== 'string') return null;
  try {
    return parsePublicKey(text);
  } catch {
    return null;
  }
}

/** The key an announcement (a sysinfo) names in `"Ur Agent".public_key`, if any. */
export function announcedKey(sysinfo: unknown): unknown {
  const agent = (sysinfo as { 'Ur Agent'?: { public_key?: unknown } } | null)?.['Ur Agent'];
  return agent?.public_key;
}

/**
 * An announcement (startup, sysinfo, or the answer to a sysinfo broadcast)
 * against the node's pinned key. With none pinned, a key the announcement
 * names must have signed it (it is then pinned); without a key it is a
 * Triton agent (or an old one), with nothing to check.
 */
export function judgeAnnouncement(
  pinned: PublicKey | null,
  message: ReceivedMessage,
  announced: unknown,
): Judgement {
  const named = publicKeyOrNull(announced);
  if (announced !== undefined && named === null) {
    return { ok: false, offered: null, reason: 'the announcement names a malformed key' };
  }
  const byNamed = named ? signedBy(message, named) : 'unsigned';
  if (pinned === null) {
    if (named === null || byNamed === 'valid') return { ok: true };
    return { ok: false, offered: null, reason: `not signed by the key it announces (${named.id})` };
  }
  const byPinned = signedBy(message, pinned);
  if (byPinned === 'valid' && (named === null || named.text === pinned.text)) return { ok: true };
  if (named && named.text !== pinned.text && byNamed === 'valid') {
    return {
      ok: false,
      offered: named.text,
      reason: `signed by a new key ${named.id}, not the pinned ${pinned.id} (reinstalled? see urctl nodes trust)`,
    };
  }
  return {
    ok: false,
    offered: null,
    reason:
      byPinned === 'unsigned'
        ? `unsigned, but the node's key ${pinned.id} is pinned`
        : `the signature does not match the pinned key ${pinned.id}`,
  };
}

/** A reply against the node's pinned key (none pinned: nothing to check). */
export function judgeReply(pinned: PublicKey | null, message: ReceivedMessage): Judgement {
  if (pinned === null) return { ok: true };
  const by = signedBy(message, pinned);
  if (by === 'valid') return { ok: true };
  return {
    ok: false,
    offered: null,
    reason:
      by === 'unsigned'
        ? `unsigned, but the node's key ${pinned.id} is pinned`
        : `the signature does not match the pinned key ${pinned.id}`,
  };
}

export interface NodeKeysOptions {
  /**
   * Other headnodes share the store (PostgreSQL) and may pin keys this one
   * has not seen: a node without a cached key is looked up. A headnode alone
   * on its store pins every key itself, so its cache is complete. @default true
   */
  shared?: boolean;
  /** With a shared store, how long "no key pinned" is believed before asking again. @default 10000 */
  unpinnedTtlMs?: number;
}

interface Cached {
  key: PublicKey | null;
  at: number;
}

/**
 * The pinned key of each node, cached so that checking a message costs no
 * query: read at start, learned from announcements, and read again from the
 * store before any message is judged a mismatch (another headnode may have
 * pinned, trusted or forgotten a key meanwhile).
 */
export class NodeKeys {
  readonly #store: NodeKeyStore;
  readonly #log: Logger;
  readonly #ttlMs: number;
  readonly #shared: boolean;
  readonly #cache = new Map<string, Cached>();

  constructor(store: NodeKeyStore, logger: Logger, options: NodeKeysOptions = {}) {
    this.#store = store;
    this.#log = logger;
    this.#ttlMs = options.unpinnedTtlMs ?? 10_000;
    this.#shared = options.shared ?? true;
  }

  async load(): Promise<void> {
    const now = Date.now();
    for (const [id, text] of await this.#store.pinned()) {
      const key = publicKeyOrNull(text);
      if (key) this.#cache.set(id, { key, at: now });
      else this.#log.warn('ignoring a malformed pinned key', { nodeId: id });
    }
  }

  /** This headnode pinned, trusted or forgot a key. */
  remember(nodeId: string, text: string | null): void {
    this.#cache.set(nodeId, { key: publicKeyOrNull(text), at: Date.now() });
  }

  /**
   * Judges a message with `judge` and calls `done` with the verdict: at once
   * when the node's key is cached and the message matches it, otherwise once
   * the store has been asked.
   */
  check(
    nodeId: string,
    judge: (pinned: PublicKey | null) => Judgement,
    done: (verdict: Judgement) => void,
  ): void {
    const cached = this.#cached(nodeId);
    if (cached !== undefined) {
      const verdict = judge(cached);
      if (verdict.ok) return done(verdict);
    }
    this.#fetch(nodeId).then(
      (key) => done(judge(key)),
      (err: unknown) => {
        this.#log.warn('reading a pinned key failed', { nodeId, error: String(err) });
        done({ ok: false, offered: null, reason: 'the pinned key could not be read' });
      },
    );
  }

  /** The pinned key as far as the cache can tell; undefined if the store must be asked. */
  #cached(nodeId: string): PublicKey | null | undefined {
    const entry = this.#cache.get(nodeId);
    if (!this.#shared) return entry?.key ?? null;
    if (entry === undefined) return undefined;
    return entry.key !== null || Date.now() - entry.at < this.#ttlMs ? entry.key : undefined;
  }

  async #fetch(nodeId: string): Promise<PublicKey | null> {
    const row = await this.#store.get(nodeId);
    const key = publicKeyOrNull(row?.public_key ?? null);
    this.#cache.set(nodeId, { key, at: Date.now() });
    return key;
  }
}
