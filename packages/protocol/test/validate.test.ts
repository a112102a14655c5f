import { checkExecuteRequest, decodeExecuteRequest, normalizeReply, parseJsonBody } from '@ur/protocol';

const enc = (v: unknown): Buffer => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('decodeExecuteRequest', () => {
  it('accepts Ur requests, ignoring the extra fields Ur sent', () => {
    const decoded = decodeExecuteRequest(
      enc({ type: 'script', script: 'echo hi', timestamp: '2010-11-10T00:00:00Z', env: {}, args: ['a'] }),
    );
    expect(decoded).toMatchObject({ ok: true, value: { type: 'script', script: 'echo hi', args: ['a'] } });
    expect(decodeExecuteRequest(enc({ type: 'file', file: 'scripts/pools.sh' })).ok).toBe(true);
    expect(decodeExecuteRequest(enc({ type: 'cancel', request_id: 'r-1', timeout: 300 })).ok).toBe(true);
  });

  it.each([
    ['not json', 'INVALID_JSON'],
    [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'INVALID_JSON'],
    ['null', 'INVALID_REQUEST'],
    ['[1,2]', 'INVALID_REQUEST'],
    ['"script"', 'INVALID_REQUEST'],
    [{ script: 'x' }, 'INVALID_REQUEST'],
    [{ type: 'reboot' }, 'UNKNOWN_TYPE'],
    [{ type: 42 }, 'UNKNOWN_TYPE'],
    [{ type: 'script' }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 1 }, 'INVALID_REQUEST'],
    [{ type: 'file', file: '' }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 'x', env: { A: 1 } }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 'x', args: 'a b' }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 'x', timeout: -1 }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 'x', timeout: 1e12 }, 'INVALID_REQUEST'],
    [{ type: 'script', script: 'x', timeout: '10' }, 'INVALID_REQUEST'],
    [{ type: 'cancel' }, 'INVALID_REQUEST'],
    [{ type: 'cancel', request_id: 7 }, 'INVALID_REQUEST'],
    [{ type: 'cancel', request_id: 'a.b' }, 'INVALID_ID'],
    [{ type: 'cancel', request_id: '' }, 'INVALID_ID'],
    [{ type: 'cancel', request_id: 'ur.execute.#' }, 'INVALID_ID'],
  ])('refuses %j with %s', (body, code) => {
    const decoded = decodeExecuteRequest(Buffer.isBuffer(body) ? body : enc(body));
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.error.code).toBe(code);
  });

  it('names the missing field', () => {
    const decoded = checkExecuteRequest({ type: 'file' });
    expect(decoded.ok ? '' : decoded.error.message).toBe('missing field "file"');
  });

  it('refuses bodies over the limit before parsing them', () => {
    const decoded = parseJsonBody(Buffer.alloc(100, 0x20), 99);
    expect(decoded.ok ? '' : decoded.error.code).toBe('BODY_TOO_LARGE');
  });
});

describe('normalizeReply', () => {
  it('fills in our fields for a Triton reply', () => {
    const reply = normalizeReply({ exit_status: 0, stdout: 'hi\n', stderr: '' }, 12);
    expect(reply).toMatchObject({
      exit_status: 0,
      stdout: 'hi\n',
      duration_ms: 12,
      stdout_bytes: 3,
      timed_out: false,
    });
  });

  it('turns Ur string exit statuses into a number and an error', () => {
    const reply = normalizeReply({ exit_status: 'ENOENT', stdout: '', stderr: '' }, 1);
    expect(reply).toMatchObject({ exit_status: 127, error: { code: 'SPAWN_FAILED', message: 'ENOENT' } });
  });

  it('keeps our agent replies as they are', () => {
    const full = {
      exit_status: 3,
      stdout: 'a',
      stderr: 'b',
      signal: null,
      duration_ms: 5,
      started_at: 'x',
      finished_at: 'y',
      stdout_bytes: 1,
      stderr_bytes: 1,
      stdout_truncated: false,
      stderr_truncated: true,
      timed_out: false,
      error: { code: 'TIMED_OUT', message: 'm' },
    };
    expect(normalizeReply(full, 99)).toEqual(full);
  });

  it('maps unknown error codes to INTERNAL_ERROR and refuses non-replies', () => {
    expect(normalizeReply({ exit_status: 1, error: { code: 'WAT', message: 'x' } }, 0)?.error?.code).toBe(
      'INTERNAL_ERROR',
    );
    expect(normalizeReply({ UUID: 'n1' }, 0)).toBeNull();
  });
});
