import { generateKeyPairSync } from 'node:crypto';
import {
  generateSigningKey,
  InvalidKeyError,
  MessageSigner,
  parsePrivateKey,
  parsePublicKey,
  parsePublicKeys,
  readSignatureHeaders,
  redactRequest,
  requestIdOf,
  RequestVerifier,
  SIGNATURE_HEADERS,
  signedBy,
  signingPayload,
  type ErrorCode,
  type ReceivedMessage,
} from '@ur/protocol';

const signerOf = (lifetimeMs = 60_000): MessageSigner =>
  new MessageSigner(parsePrivateKey(generateSigningKey().privateKeyPem), lifetimeMs);

const NOW = 1_700_000_000_000;
const KEY = 'ur.execute.node-a.req-1';
const BODY = Buffer.from(JSON.stringify({ type: 'script', script: 'touch /tmp/marker' }));

function signed(signer: MessageSigner, routingKey = KEY, body = BODY, now = NOW): ReceivedMessage {
  return { routingKey, body, headers: signer.headers(routingKey, body, now) };
}

describe('keys', () => {
  it('round-trips a generated key through its ed25519:<base64> text', () => {
    const { privateKeyPem, publicKey } = generateSigningKey();
    expect(publicKey.text).toMatch(/^ed25519:[A-Za-z0-9+/]{43}=$/);
    expect(publicKey.id).toMatch(/^[0-9a-f]{16}$/);
    const parsed = parsePublicKey(publicKey.text);
    expect(parsed.id).toBe(publicKey.id);
    expect(new MessageSigner(parsePrivateKey(privateKeyPem), 1).publicKey.text).toBe(publicKey.text);
  });

  it('reads a trusted-keys file: several keys, comments and blank lines', () => {
    const a = generateSigningKey().publicKey;
    const b = generateSigningKey().publicKey;
    const keys = parsePublicKeys(`# rotation\n${a.text}\n\n  ${b.text}  # new one\n`, 'keys');
    expect(keys.map((k) => k.id)).toEqual([a.id, b.id]);
  });

  it('refuses malformed keys, naming the file and line', () => {
    expect(() => parsePublicKeys('ed25519:AAAA\n', 'trusted')).toThrow(/trusted:1: .*32 bytes, got 3/);
    expect(() => parsePublicKey('ssh-ed25519 AAAA')).toThrow(InvalidKeyError);
    expect(() => parsePublicKey('ed25519:not base64!')).toThrow(/not base64/);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
      format: 'pem',
      type: 'pkcs8',
    });
    expect(() => parsePrivateKey(rsa, 'rsa.pem')).toThrow(/rsa.pem: expected an Ed25519 key, got rsa/);
    expect(() => parsePrivateKey('junk', 'junk.pem')).toThrow(/junk.pem: not a PEM private key/);
  });
});

describe('signatures', () => {
  it('binds routing key, request id, key id, times and body in one payload', () => {
    const payload = signingPayload(
      { routingKey: KEY, keyId: '0123456789abcdef', signedAt: 5, expiresAt: 9 },
      Buffer.from('{}'),
    ).toString();
    expect(payload).toBe('ur-signature-v1\nur.execute.node-a.req-1\nreq-1\n0123456789abcdef\n5\n9\n{}');
    expect(requestIdOf('ur.execute-reply.n.r2')).toBe('r2');
    expect(requestIdOf('ur.sysinfo.n.123')).toBe('123');
    expect(requestIdOf('ur.heartbeat.n')).toBe('');
    expect(requestIdOf('not a key')).toBe('');
  });

  it('puts the signature in headers only: the body is the request as Ur defines it', () => {
    const signer = signerOf(60_000);
    const headers = signer.headers(KEY, BODY, NOW);
    expect(Object.keys(headers).sort()).toEqual(Object.values(SIGNATURE_HEADERS).sort());
    expect(headers[SIGNATURE_HEADERS.expiresAt]).toBe(String(NOW + 60_000));
    const read = readSignatureHeaders(headers);
    expect(read.kind).toBe('signed');
    expect(readSignatureHeaders(undefined)).toEqual({ kind: 'unsigned' });
    expect(readSignatureHeaders({ other: 'x' })).toEqual({ kind: 'unsigned' });
    expect(readSignatureHeaders({ [SIGNATURE_HEADERS.signature]: 'x' }).kind).toBe('malformed');
  });

  it('tells who signed a message for the key it came with', () => {
    const signer = signerOf();
    const other = signerOf();
    const message = signed(signer);
    expect(signedBy(message, signer.publicKey)).toBe('valid');
    expect(signedBy(message, other.publicKey)).toBe('invalid');
    expect(signedBy({ ...message, routingKey: 'ur.execute.node-b.req-1' }, signer.publicKey)).toBe('invalid');
    expect(signedBy({ ...message, headers: undefined }, signer.publicKey)).toBe('unsigned');
  });
});

describe('request verification', () => {
  const trusted = signerOf();
  const verifier = new RequestVerifier([trusted.publicKey], { clockSkewMs: 5_000, maxLifetimeMs: 3_600_000 });
  const codeOf = (message: ReceivedMessage, now = NOW): ErrorCode | 'ok' => {
    const v = verifier.verify(message, now);
    return v.ok ? 'ok' : v.error.code;
  };

  it('accepts a request signed by a trusted key, within its lifetime and the skew', () => {
    expect(codeOf(signed(trusted))).toBe('ok');
    expect(codeOf(signed(trusted), NOW + 60_000 + 4_000)).toBe('ok');
    expect(codeOf(signed(trusted), NOW - 4_000)).toBe('ok');
  });

  it('refuses each kind of bad request with its own code', () => {
    const stranger = signerOf();
    expect(codeOf({ routingKey: KEY, body: BODY, headers: undefined })).toBe('UNSIGNED');
    expect(codeOf(signed(stranger))).toBe('UNKNOWN_KEY');
    const altered = signed(trusted);
    expect(
      codeOf({ ...altered, body: Buffer.from(JSON.stringify({ type: 'script', script: 'rm -rf /' })) }),
    ).toBe('BAD_SIGNATURE');
    // Forged: a stranger's signature under the trusted key's id.
    const forged = signed(stranger);
    forged.headers![SIGNATURE_HEADERS.keyId] = trusted.publicKey.id;
    expect(codeOf(forged)).toBe('BAD_SIGNATURE');
    // Signed for node A, delivered to node B.
    expect(codeOf({ ...signed(trusted), routingKey: 'ur.execute.node-b.req-1' })).toBe('WRONG_NODE');
    expect(codeOf(signed(trusted), NOW + 60_000 + 6_000)).toBe('SIGNATURE_EXPIRED');
    expect(codeOf(signed(trusted), NOW - 6_000)).toBe('SIGNATURE_EXPIRED');
  });

  it('honours a signature no longer than it remembers request ids, whatever it states', () => {
    const longLived = signerOf(365 * 86_400_000);
    const v = new RequestVerifier([longLived.publicKey], { clockSkewMs: 0, maxLifetimeMs: 3_600_000 });
    expect(v.verify(signed(longLived), NOW + 3_599_000).ok).toBe(true);
    expect(v.verify(signed(longLived), NOW + 3_601_000)).toMatchObject({
      ok: false,
      error: { code: 'SIGNATURE_EXPIRED' },
    });
  });

  it('accepts any of several trusted keys (rotation)', () => {
    const next = signerOf();
    const both = new RequestVerifier([trusted.publicKey, next.publicKey], {
      clockSkewMs: 0,
      maxLifetimeMs: 1e9,
    });
    expect(both.verify(signed(trusted), NOW).ok).toBe(true);
    expect(both.verify(signed(next), NOW).ok).toBe(true);
    const onlyNext = new RequestVerifier([next.publicKey], { clockSkewMs: 0, maxLifetimeMs: 1e9 });
    expect(onlyNext.verify(signed(trusted), NOW)).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_KEY' },
    });
  });
});

/** mulberry32: reproducible inputs (UR_FUZZ_SEED=<seed> to replay). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz: mutated signed requests', () => {
  const SEED = Number(process.env.UR_FUZZ_SEED ?? 8_008);
  const CASES = 5_000;

  it(`refuses every one of ${CASES} mutations of a signed request`, () => {
    const random = prng(SEED);
    const int = (n: number): number => Math.floor(random() * n);
    const trusted = signerOf();
    const verifier = new RequestVerifier([trusted.publicKey], {
      clockSkewMs: 1_000,
      maxLifetimeMs: 3_600_000,
    });
    const names = Object.values(SIGNATURE_HEADERS);
    const flip = (buf: Buffer): Buffer => {
      if (buf.length === 0) return Buffer.from('x');
      const copy = Buffer.from(buf);
      const i = int(copy.length);
      copy[i] = copy[i]! ^ (1 + int(255));
      return copy;
    };
    const mutations: ((m: ReceivedMessage & { headers: Record<string, unknown> }) => void)[] = [
      (m) => (m.body = flip(Buffer.from(m.body))),
      // Prepended, so that a later truncation cannot undo it.
      (m) => (m.body = Buffer.concat([Buffer.from(' '), Buffer.from(m.body)])),
      (m) => (m.body = Buffer.from(m.body).subarray(0, int(m.body.length))),
      (m) => {
        const value = m.headers[SIGNATURE_HEADERS.signature];
        const sig = Buffer.from(typeof value === 'string' ? value : '', 'base64');
        m.headers[SIGNATURE_HEADERS.signature] = flip(sig).toString('base64');
      },
      (m) => (m.headers[SIGNATURE_HEADERS.signedAt] = String(NOW - 1 - int(1000))),
      (m) => (m.headers[SIGNATURE_HEADERS.expiresAt] = String(NOW + 60_001 + int(1e9))),
      (m) =>
        (m.headers[SIGNATURE_HEADERS.keyId] = flip(Buffer.from(trusted.publicKey.id, 'hex')).toString('hex')),
      (m) => (m.headers[SIGNATURE_HEADERS.routingKey] = `ur.execute.node-a.req-${2 + int(1e6)}`),
      (m) => (m.routingKey = `ur.execute.node-${int(1e6)}.req-1`),
      (m) => delete m.headers[names[int(names.length)]!],
      (m) => {
        for (const name of names) delete m.headers[name];
      },
      (m) =>
        (m.headers[names[int(names.length)]!] = [null, 1, '', ' ', 'x'.repeat(300), Buffer.from('a')][
          int(6)
        ]),
    ];
    let refused = 0;
    const codes = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const message = signed(trusted) as ReceivedMessage & { headers: Record<string, unknown> };
      // One to three mutations, each of which alone must break the signature.
      const count = 1 + int(3);
      for (let j = 0; j < count; j++) mutations[int(mutations.length)]!(message);
      const v = verifier.verify(message, NOW + int(60_000));
      if (!v.ok) {
        refused += 1;
        codes.set(v.error.code, (codes.get(v.error.code) ?? 0) + 1);
      }
    }
    expect(refused).toBe(CASES);
    expect([...codes.keys()].sort()).toEqual(
      ['BAD_SIGNATURE', 'UNKNOWN_KEY', 'UNSIGNED', 'WRONG_NODE'].sort(),
    );
    // The same message, unmutated, passes: the check can fail.
    expect(verifier.verify(signed(trusted), NOW).ok).toBe(true);
  });
});

describe('redaction', () => {
  it('replaces the values of secret env variables, and nothing else', () => {
    const request = {
      type: 'script',
      script: 'echo',
      env: { PASSWORD: 'hunter2', USER: 'root' },
      secret_env: ['PASSWORD', 'MISSING'],
    };
    expect(redactRequest(request)).toEqual({ ...request, env: { PASSWORD: '***', USER: 'root' } });
    expect(request.env.PASSWORD).toBe('hunter2');
    const plain = { type: 'script', script: 'echo', env: { A: '1' } };
    expect(redactRequest(plain)).toBe(plain);
    expect(redactRequest('x')).toBe('x');
  });
});
