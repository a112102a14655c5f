// Writes src/generated/validators.ts. Run with: npm run generate
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { standaloneValidatorsSource } from './standalone-code.js';

const target = fileURLToPath(new URL('../src/generated/validators.ts', import.meta.url));
writeFileSync(target, standaloneValidatorsSource());
process.stdout.write(`wrote ${target}\n`);
