// Compiles native/ur-spawn.c into dist/ur-spawn, the helper that starts the
// agent's commands (see the comment at the top of the C file). Without a C
// compiler the agent still works: it starts commands with Node's spawn(),
// which blocks its event loop for each fork; this says so and goes on.
// scripts/test and scripts/demo install a compiler first, so the helper is
// always built and tested there.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { env, stderr } from 'node:process';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native/ur-spawn.c');
const target = join(root, 'dist/ur-spawn');
const mtime = (path) => statSync(path, { throwIfNoEntry: false })?.mtimeMs;

if ((mtime(target) ?? 0) < mtime(source)) {
  const cc = env.CC || 'cc';
  mkdirSync(dirname(target), { recursive: true });
  try {
    execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-o', target, source], { stdio: 'inherit' });
  } catch (err) {
    const why = err.code === 'ENOENT' ? `no C compiler (${cc})` : `${cc} failed`;
    stderr.write(`ur-spawn not built: ${why}; the agent will start commands with Node's spawn()\n`);
  }
}
