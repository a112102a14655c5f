import { judgeAnnouncement, judgeReply, NodeKeys, type Judgement, type NodeKeyStore } from '@ur/headnode';
import {
  generateSigningKey,
  MessageSigner,
  parsePrivateKey,
  silentLogger,
  type PublicKey,
  type ReceivedMessage,
} from '@ur/protocol';

const signer = (): MessageSigner =>
  new MessageSigner(parsePrivateKey(generateSigningKey().privateKeyPem), 60_000);

function announcement(
  id: string,
  by: MessageSigner | undefined,
  named?: MessageSigner,
): [ReceivedMessage, unknown] {
  const routingKey = `ur.startup.${id}`;
  const sysinfo = {
    UUID: id,
    'Ur Agent': { version: '1', protocol: 1, capabilities: [], public_key: named?.publicKey.text },
  };
  const body = Buffer.from(JSON.stringify(sysinfo));
  return [
    { routingKey, body, headers: by ? by.headers(routingKey, body) : undefined },
    named?.publicKey.text,
  ];
}

describe('judging announcements and replies', () => {
  const pinned = signer();
  const other = signer();

  it('accepts what the pinned key signed, and a first key that signed its own announcement', () => {
    expect(judgeAnnouncement(pinned.publicKey, ...announcement('n', pinned, pinned))).toEqual({ ok: true });
    expect(judgeAnnouncement(null, ...announcement('n', other, other))).toEqual({ ok: true });
    // A Triton agent: no key, no signature, nothing pinned.
    expect(judgeAnnouncement(null, ...announcement('n', undefined))).toEqual({ ok: true });
  });

  it('offers a new key only when the node proved it holds it', () => {
    expect(judgeAnnouncement(pinned.publicKey, ...announcement('n', other, other))).toMatchObject({
      ok: false,
      offered: other.publicKey.text,
    });
    expect(judgeAnnouncement(pinned.publicKey, ...announcement('n', other, pinned))).toMatchObject({
      ok: false,
      offered: null,
      reason: expect.stringMatching(/does not match the pinned key/) as unknown,
    });
    expect(judgeAnnouncement(pinned.publicKey, ...announcement('n', undefined))).toMatchObject({
      ok: false,
      offered: null,
      reason: expect.stringMatching(/^unsigned/) as unknown,
    });
    expect(judgeAnnouncement(null, ...announcement('n', other, pinned))).toMatchObject({
      ok: false,
      offered: null,
    });
    const [message] = announcement('n', pinned, pinned);
    expect(judgeAnnouncement(null, message, 'ed25519:junk')).toMatchObject({ ok: false });
  });

  it('checks replies against the pinned key only', () => {
    const [message] = announcement('n', pinned, pinned);
    expect(judgeReply(null, { ...message, headers: undefined })).toEqual({ ok: true });
    expect(judgeReply(pinned.publicKey, message)).toEqual({ ok: true });
    expect(judgeReply(other.publicKey, message)).toMatchObject({ ok: false });
  });
});

describe('NodeKeys', () => {
  function fakeStore(pinned: Map<string, string>): { store: NodeKeyStore; reads: () => number } {
    let reads = 0;
    const store = {
      pinned: () => Promise.resolve(new Map(pinned)),
      get: (id: string) => {
        reads += 1;
        const key = pinned.get(id) ?? null;
        return Promise.resolve({
          id,
          public_key: key,
          offered_key: null,
          key_status: key ? 'pinned' : 'none',
        });
      },
    } as unknown as NodeKeyStore;
    return { store, reads: () => reads };
  }
  const verdict = (keys: NodeKeys, id: string, judge: (k: PublicKey | null) => Judgement) =>
    new Promise<Judgement>((resolve) => keys.check(id, judge, resolve));
  const wantNone = (k: PublicKey | null): Judgement =>
    k === null ? { ok: true } : { ok: false, offered: null, reason: 'pinned' };

  it('alone on its store, judges unknown nodes without asking it; a mismatch is always read again', async () => {
    const a = signer();
    const pinned = new Map([['known', a.publicKey.text]]);
    const { store, reads } = fakeStore(pinned);
    const keys = new NodeKeys(store, silentLogger, { shared: false });
    await keys.load();
    expect(await verdict(keys, 'new-node', wantNone)).toEqual({ ok: true });
    expect(reads()).toBe(0);
    expect(
      await verdict(keys, 'known', (k) => (k?.id === a.publicKey.id ? { ok: true } : wantNone(k))),
    ).toEqual({
      ok: true,
    });
    expect(reads()).toBe(0);
    expect(await verdict(keys, 'known', wantNone)).toMatchObject({ ok: false });
    expect(reads()).toBe(1);
  });

  it('with a shared store, asks it about nodes it has no key for (another headnode may have pinned one)', async () => {
    const pinned = new Map<string, string>();
    const { store, reads } = fakeStore(pinned);
    const keys = new NodeKeys(store, silentLogger, { shared: true, unpinnedTtlMs: 200 });
    await keys.load();
    expect(await verdict(keys, 'n', wantNone)).toEqual({ ok: true });
    expect(await verdict(keys, 'n', wantNone)).toEqual({ ok: true });
    expect(reads()).toBe(1);
    pinned.set('n', signer().publicKey.text);
    await new Promise((r) => setTimeout(r, 250));
    expect(await verdict(keys, 'n', wantNone)).toMatchObject({ ok: false, reason: 'pinned' });
    expect(reads()).toBe(2);
  });
});
