import type { Message } from 'amqplib';
import { generateSigningKey, MessageSigner, parsePrivateKey, RequestVerifier } from '@ur/protocol';
import { RequestGuard } from '../src/request-guard.js';

const signer = new MessageSigner(parsePrivateKey(generateSigningKey().privateKeyPem), 60_000);
const verifier = new RequestVerifier([signer.publicKey], { clockSkewMs: 0, maxLifetimeMs: 3_600_000 });
const KEY = 'ur.execute.n1.r1';
const BODY = Buffer.from('{"type":"script","script":"true"}');

function message(
  redelivered: boolean,
  headers: Record<string, unknown> = signer.headers(KEY, BODY),
): Message {
  return {
    content: BODY,
    fields: { routingKey: KEY, redelivered, deliveryTag: 1, exchange: 'x' },
    properties: { headers },
  } as unknown as Message;
}

describe('RequestGuard', () => {
  it('lets everything through without trusted keys (compatible mode)', () => {
    const guard = new RequestGuard(undefined);
    expect(guard.checkNew(message(false, {}))).toBeUndefined();
    expect(guard.checkKnown(message(false, {}))).toBe('duplicate');
  });

  it('treats the broker redelivering a journaled request as a duplicate, any other copy as a replay', () => {
    const guard = new RequestGuard(verifier);
    expect(guard.checkNew(message(false))).toBeUndefined();
    expect(guard.checkKnown(message(true))).toBe('duplicate');
    expect(guard.checkKnown(message(false))).toMatchObject({ code: 'REPLAYED' });
    // A copy that is not even genuine says so.
    expect(guard.checkKnown(message(false, {}))).toMatchObject({ code: 'UNSIGNED' });
    // A genuine copy whose signature has since expired is still a replay.
    expect(guard.checkKnown(message(false, signer.headers(KEY, BODY, Date.now() - 3_600_000)))).toMatchObject(
      {
        code: 'REPLAYED',
      },
    );
  });
});
