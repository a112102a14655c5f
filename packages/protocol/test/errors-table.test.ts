import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, httpStatusOf, type ErrorCode } from '@ur/protocol';

describe('the error table', () => {
  it('is documented in the README exactly as the code has it', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8');
    const documented = new Map(
      [...readme.matchAll(/^\| `([A-Z_]+)`\s*\| (\d{3})\s*\|/gm)].map((m) => [
        m[1] as ErrorCode,
        Number(m[2]),
      ]),
    );
    const codes = Object.keys(ErrorCodes) as ErrorCode[];
    expect([...documented.keys()].sort()).toEqual([...codes].sort());
    for (const code of codes) expect([code, documented.get(code)]).toEqual([code, httpStatusOf(code)]);
  });
});
