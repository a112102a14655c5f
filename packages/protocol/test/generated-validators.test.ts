import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { standaloneValidatorsSource } from '../scripts/standalone-code.js';

describe('precompiled validators', () => {
  it('match the TypeBox schemas (run `npm run generate` after changing a schema)', () => {
    const committed = readFileSync(join(import.meta.dirname, '../src/generated/validators.ts'), 'utf8');
    expect(committed).toBe(standaloneValidatorsSource());
  });
});
