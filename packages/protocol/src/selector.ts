import { UrError } from './errors.js';
import { isWord } from './ids.js';

/**
 * The one node selector syntax, used by `GET /v1/nodes?where=`, `urctl nodes
 * --where` and fan-out commands. Grammar (terms separated by commas or
 * spaces):
 *
 *     selector  = term { ("," | " ") term }
 *     term      = "all" | node-id | condition
 *     condition = key op value
 *     key       = name { "." name }           e.g. mem_mib, label.role, sysinfo."CPU Type"
 *     op        = "=" | "!=" | "~" | "!~" | ">=" | "<=" | ">" | "<"
 *     value     = word | "quoted string"       for = != ~ !~: alternatives with "|"
 *
 * A node matches when it is one of the named ids (if any are named) and
 * every condition holds. `~` is a glob (`*` any run, `?` one character).
 * `>`, `>=`, `<`, `<=` compare numbers; the value may carry a unit suffix
 * (`k`, `M`, `G`, `T` powers of 1000; `Ki`, `Mi`, `Gi`, `Ti` powers of 1024,
 * each with an optional `B`).
 */
export const SELECTOR_OPS = ['=', '!=', '~', '!~', '>=', '<=', '>', '<'] as const;
export type SelectorOp = (typeof SELECTOR_OPS)[number];

export type SelectorCondition =
  | { key: string[]; op: '=' | '!=' | '~' | '!~'; values: string[] }
  | { key: string[]; op: '>=' | '<=' | '>' | '<'; value: number };

export interface Selector {
  /** The selector as given. */
  source: string;
  /** Named node ids; empty means any node. */
  ids: string[];
  conditions: SelectorCondition[];
}

/** A selector that does not parse; `position` is the 0-based offset of the problem. */
export class SelectorError extends UrError {
  readonly selector: string;
  readonly position: number;

  constructor(selector: string, position: number, reason: string) {
    super('INVALID_SELECTOR', `invalid selector ${JSON.stringify(selector)} at ${position + 1}: ${reason}`);
    this.selector = selector;
    this.position = position;
  }
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** `4096`, `1.5`, `4GiB`, `500M`: a number with an optional unit; undefined if it is not one. */
export function parseQuantity(text: string): number | undefined {
  const m = /^(-?\d+(?:\.\d+)?)([kKMGT]i?)?B?$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2] ?? ''];
  if (unit === undefined) return undefined;
  return Number(m[1]) * unit;
}

const NAME = /[A-Za-z0-9_:-]/;
const SEPARATOR = /[\s,]/;

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  peek(n = 1): string {
    return this.text.slice(this.pos, this.pos + n);
  }

  fail(reason: string, at = this.pos): never {
    throw new SelectorError(this.text, at, reason);
  }

  skipSeparators(): void {
    while (!this.done && SEPARATOR.test(this.peek())) this.pos++;
  }

  quoted(): string {
    const start = this.pos;
    this.pos++; // opening quote
    let out = '';
    while (!this.done && this.peek() !== '"') {
      if (this.peek() === '\\') this.pos++;
      out += this.peek();
      this.pos++;
    }
    if (this.done) this.fail('unterminated quoted string', start);
    this.pos++; // closing quote
    return out;
  }

  name(): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.done && NAME.test(this.peek())) this.pos++;
    if (this.pos === start) this.fail(`expected a name, found ${JSON.stringify(this.peek() || 'the end')}`);
    return this.text.slice(start, this.pos);
  }

  op(): SelectorOp | undefined {
    for (const op of ['!=', '!~', '>=', '<=', '=', '~', '>', '<'] as const) {
      if (this.peek(op.length) === op) {
        this.pos += op.length;
        return op;
      }
    }
    return undefined;
  }

  /** One value: quoted, or everything up to a separator or `|`. */
  value(): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.done && !SEPARATOR.test(this.peek()) && this.peek() !== '|' && this.peek() !== '"')
      this.pos++;
    if (this.pos === start) this.fail('expected a value');
    return this.text.slice(start, this.pos);
  }
}

/** Parses a selector; throws {@link SelectorError}. */
export function parseSelector(text: string): Selector {
  const s: Scanner = new Scanner(text);
  const ids: string[] = [];
  const conditions: SelectorCondition[] = [];
  let all = false;
  s.skipSeparators();
  if (s.done) s.fail('empty selector; use "all" for every node');
  while (!s.done) {
    const termStart = s.pos;
    const key = [s.name()];
    while (s.peek() === '.') {
      s.pos++;
      key.push(s.name());
    }
    const op = s.op();
    if (op === undefined) {
      if (!s.done && !SEPARATOR.test(s.peek())) s.fail(`unexpected ${JSON.stringify(s.peek())}`);
      const word = s.text.slice(termStart, s.pos);
      if (word === 'all') all = true;
      else if (key.length === 1 && isWord(word)) ids.push(word);
      else s.fail(`${JSON.stringify(word)} is neither a node id nor a condition (key=value)`, termStart);
    } else if (op === '=' || op === '!=' || op === '~' || op === '!~') {
      const values = [s.value()];
      while (s.peek() === '|') {
        s.pos++;
        values.push(s.value());
      }
      conditions.push({ key, op, values });
    } else {
      const valueStart = s.pos;
      const raw = s.value();
      const value = parseQuantity(raw);
      if (value === undefined) s.fail(`${op} needs a number, found ${JSON.stringify(raw)}`, valueStart);
      conditions.push({ key, op, value });
    }
    if (!s.done && !SEPARATOR.test(s.peek())) s.fail(`unexpected ${JSON.stringify(s.peek())}`);
    s.skipSeparators();
  }
  if (all && ids.length > 0) s.fail('"all" cannot be combined with node ids', 0);
  return { source: text, ids, conditions };
}

/** A node's facts, looked up by key path (`["mem_mib"]`, `["label", "role"]`). */
export type FactLookup = (key: readonly string[]) => string | number | boolean | null | undefined;

const globCache = new Map<string, RegExp>();

function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.');
    re = new RegExp(`^${body}$`, 's');
    if (globCache.size > 1000) globCache.clear();
    globCache.set(glob, re);
  }
  return re;
}

function asNumber(fact: string | number | boolean | null | undefined): number | undefined {
  if (typeof fact === 'number') return fact;
  if (typeof fact === 'string') return parseQuantity(fact.trim());
  return undefined;
}

function holds(c: SelectorCondition, fact: string | number | boolean | null | undefined): boolean {
  switch (c.op) {
    case '=':
    case '!=': {
      const text = fact === null || fact === undefined ? undefined : String(fact);
      const equal = text !== undefined && c.values.includes(text);
      return c.op === '=' ? equal : !equal;
    }
    case '~':
    case '!~': {
      const text = fact === null || fact === undefined ? undefined : String(fact);
      const matched = text !== undefined && c.values.some((v) => globToRegExp(v).test(text));
      return c.op === '~' ? matched : !matched;
    }
    default: {
      const n = asNumber(fact);
      if (n === undefined) return false;
      if (c.op === '>=') return n >= c.value;
      if (c.op === '<=') return n <= c.value;
      if (c.op === '>') return n > c.value;
      return n < c.value;
    }
  }
}

/**
 * The one selector evaluator: true if the node with `id` and `facts` is
 * selected. A missing fact equals nothing (so `!=` and `!~` hold for it) and
 * compares as no number.
 */
export function matchesSelector(selector: Selector, id: string, facts: FactLookup): boolean {
  if (selector.ids.length > 0 && !selector.ids.includes(id)) return false;
  return selector.conditions.every((c) => holds(c, facts(c.key)));
}

/** True if any condition looks at keys under `prefix` (e.g. "sysinfo"), so callers load those facts only when needed. */
export function selectorUses(selector: Selector, prefix: string): boolean {
  return selector.conditions.some((c) => c.key[0] === prefix);
}
