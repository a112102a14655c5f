import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { silentLogger, type Logger } from '@ur/protocol/wire';
import type { LaunchEvents, LaunchSpec } from './launcher.js';

/**
 * Where `npm run build` puts the compiled helper (packages/agent/dist), seen
 * from src/launch, dist/launch and the bundled dist/ur-agent.mjs alike.
 */
export function builtSpawnHelperPath(): string | undefined {
  for (const relative of ['../../dist/ur-spawn', './ur-spawn']) {
    const path = fileURLToPath(new URL(relative, import.meta.url));
    try {
      accessSync(path, fsConstants.X_OK);
      return path;
    } catch {
      // not built here
    }
  }
  return undefined;
}

const FLAG_STDIN = 1;
const FLAG_ENV = 2;
const FLAG_CWD = 4;
const HEADER_BYTES = 9;
const SPAWN = 'S'.charCodeAt(0);

const signalNames = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);
const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** The error Node's spawn() gives for the same failure. */
function spawnErrno(errno: number, command: string): NodeJS.ErrnoException {
  const code = errnoNames.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`spawn ${command} ${code}`), {
    code,
    errno: -errno,
    syscall: `spawn ${command}`,
    path: command,
  });
}

/** Bytes of a string list on the wire: a u32 count, then each string and its NUL. */
const listBytes = (list: readonly string[]): number =>
  list.reduce((sum, s) => sum + Buffer.byteLength(s) + 1, 4);

/**
 * The spawn frame, written into one buffer sized up front: a command costs
 * one allocation here instead of one per string (the agent's garbage per
 * command is what V8 must collect, and it sets how soon the heap grows).
 */
function encodeSpawn(id: number, spec: LaunchSpec): Buffer {
  const flags =
    (spec.stdin !== undefined ? FLAG_STDIN : 0) |
    (spec.env !== undefined ? FLAG_ENV : 0) |
    (spec.cwd !== undefined ? FLAG_CWD : 0);
  const argv = [spec.command, ...spec.args];
  const env = spec.env === undefined ? undefined : Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
  const stdin = spec.stdin === undefined ? undefined : Buffer.from(spec.stdin);
  const payloadBytes =
    1 +
    listBytes(argv) +
    (env === undefined ? 0 : listBytes(env)) +
    (spec.cwd === undefined ? 0 : Buffer.byteLength(spec.cwd) + 1) +
    (stdin?.length ?? 0);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadBytes);
  frame.writeUInt32LE(payloadBytes + 5, 0);
  frame.writeUInt32LE(id, 4);
  frame[8] = SPAWN;
  frame[HEADER_BYTES] = flags;
  let at = HEADER_BYTES + 1;
  const string = (s: string): void => {
    at += frame.write(s, at);
    frame[at++] = 0;
  };
  const list = (items: readonly string[]): void => {
    at = frame.writeUInt32LE(items.length, at);
    for (const item of items) string(item);
  };
  list(argv);
  if (env !== undefined) list(env);
  if (spec.cwd !== undefined) string(spec.cwd);
  if (stdin !== undefined) at += stdin.copy(frame, at);
  if (at !== frame.length) throw new Error(`spawn frame: wrote ${at} of ${frame.length} bytes`);
  return frame;
}

/** Node refuses these in spawn(); the helper's C strings would cut them short. */
function hasNul(spec: LaunchSpec): boolean {
  const texts = [spec.command, ...spec.args, spec.cwd ?? ''];
  if (spec.env !== undefined) for (const [k, v] of Object.entries(spec.env)) texts.push(k, v);
  return texts.some((t) => t.includes('\0'));
}

/**
 * One long-running `ur-spawn` process that starts this process's commands
 * (see native/ur-spawn.c for why and for its protocol). Shared by every agent
 * in the process; started on first use and again after it died. It does not
 * keep Node running while nothing is in flight.
 */
export class SpawnHelper {
  static readonly #byPath = new Map<string, SpawnHelper>();

  /** The helper for this binary, shared within the process. */
  static at(path: string, logger: Logger = silentLogger): SpawnHelper {
    let helper = SpawnHelper.#byPath.get(path);
    if (helper === undefined) {
      helper = new SpawnHelper(path, logger);
      SpawnHelper.#byPath.set(path, helper);
    }
    return helper;
  }

  readonly #path: string;
  readonly #logger: Logger;
  #child: ChildProcess | undefined;
  #pending: Buffer = Buffer.alloc(0);
  #nextId = 1;
  readonly #inFlight = new Map<number, { spec: LaunchSpec; events: LaunchEvents; pid?: number }>();

  private constructor(path: string, logger: Logger) {
    this.#path = path;
    this.#logger = logger;
  }

  /** A Launcher that starts processes through this helper. */
  readonly launch = (spec: LaunchSpec, events: LaunchEvents): void => {
    if (hasNul(spec)) {
      queueMicrotask(() => events.failed(spawnErrno(osConstants.errno.EINVAL, spec.command)));
      return;
    }
    const child = this.#running();
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffffffff ? 1 : this.#nextId + 1;
    this.#inFlight.set(id, { spec, events });
    if (this.#inFlight.size === 1) this.#ref(child, true);
    child.stdin!.write(encodeSpawn(id, spec));
  };

  #running(): ChildProcess {
    if (this.#child !== undefined) return this.#child;
    const child = spawn(this.#path, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child = child;
    this.#pending = Buffer.alloc(0);
    child.stdin.on('error', () => undefined); // EPIPE once it died; 'exit' tells the callers
    child.stdout.on('data', (chunk: Buffer) => this.#receive(chunk));
    const gone = (why: string): void => {
      if (this.#child !== child) return;
      this.#child = undefined;
      const lost = [...this.#inFlight.values()];
      this.#inFlight.clear();
      if (lost.length > 0 || why !== 'exited with 0') {
        this.#logger.warn('the spawn helper stopped', { why, path: this.#path, inFlight: lost.length });
      }
      for (const { spec, events } of lost) {
        const err = Object.assign(new Error(`the spawn helper ${why} while ${spec.command} ran`), {
          code: 'ESPAWNHELPER',
        });
        events.failed(err);
      }
    };
    child.on('error', (err) => gone(`failed: ${err.message}`));
    child.on('exit', (code, signal) =>
      gone(signal !== null ? `was killed by ${signal}` : `exited with ${code}`),
    );
    this.#ref(child, false);
    return child;
  }

  #ref(child: ChildProcess, on: boolean): void {
    const handles = [child, child.stdin, child.stdout] as { ref(): void; unref(): void }[];
    for (const h of handles)
      if (on) h.ref();
      else h.unref();
  }

  #receive(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let off = 0;
    while (buf.length - off >= 4) {
      const length = buf.readUInt32LE(off);
      if (buf.length - off - 4 < length) break;
      this.#frame(
        buf.readUInt32LE(off + 4),
        buf[off + 8]!,
        buf.subarray(off + HEADER_BYTES, off + 4 + length),
      );
      off += 4 + length;
    }
    buf = buf.subarray(off);
    // A copy, so one small leftover does not pin a large chunk.
    this.#pending = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }

  #frame(id: number, type: number, payload: Buffer): void {
    const entry = this.#inFlight.get(id);
    if (entry === undefined) return;
    switch (String.fromCharCode(type)) {
      case 'P':
        entry.pid = payload.readUInt32LE(0);
        entry.events.started(entry.pid);
        return;
      case 'F':
        this.#settle(id);
        entry.events.failed(spawnErrno(payload.readUInt32LE(0), entry.spec.command));
        return;
      case 'O':
        // The frame is a view into a chunk that later frames share; the capture keeps what it is given.
        entry.events.output('stdout', Buffer.from(payload));
        return;
      case 'E':
        entry.events.output('stderr', Buffer.from(payload));
        return;
      case 'X': {
        this.#settle(id);
        const status = payload.readUInt32LE(0);
        const signal = status & 0x7f;
        if (signal === 0) entry.events.exited((status >> 8) & 0xff, null);
        else entry.events.exited(null, signalNames.get(signal) ?? 'SIGKILL');
        return;
      }
    }
  }

  #settle(id: number): void {
    this.#inFlight.delete(id);
    if (this.#inFlight.size === 0 && this.#child !== undefined) this.#ref(this.#child, false);
  }
}
