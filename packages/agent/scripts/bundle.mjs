// Bundles the ur-agent binary into one file, dist/ur-agent.mjs, after tsc has
// built dist/. Loading one file instead of ~150 modules (and their package
// lookups) takes ~60 ms off the time from process start to ur.startup
// (~325 → ~265 ms on the 2-core VM). Libraries the agent loads only when
// needed stay outside: got and yauzl (artifacts) and systeminformation (the
// hardware probe runs in a child process).
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

await build({
  entryPoints: [join(root, 'dist/bin/ur-agent.js')],
  outfile: join(root, 'dist/ur-agent.mjs'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['got', 'yauzl', 'systeminformation'],
  // Without whitespace and with shorter syntax the source V8 keeps is ~40 % smaller:
  // RSS after start 53.5 → 51.5 MiB, and right after a burst of 1,000 commands
  // ~61.8 → ~59.5 MiB (the plain bundle went over the 60 MiB goal there). Names are
  // kept, so stack traces still say which function failed.
  minifyWhitespace: true,
  minifySyntax: true,
  // The CommonJS libraries inside (amqplib, winston) call require() for Node's own modules.
  banner: {
    js: "import { createRequire as urCreateRequire } from 'node:module';\nconst require = urCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
