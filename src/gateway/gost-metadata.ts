/**
 * GOST-style configuration values (gost-compat.md §2.1, §5.2): keys are matched case-insensitively
 * (GOST reads its YAML through viper, which lower-cases every key), and metadata values are typed
 * the way go-gost/x's `metadata/util` reads them:
 *
 *   bool      true/false, a non-zero int, or a string Go's strconv.ParseBool takes
 *   int       an int, a bool (1/0), a string of digits; an integral float (`65536.0`) too (§6 #26)
 *   float     a number or a numeric string
 *   duration  an int is seconds; a string is a Go duration (`1m30s`, `500ms`); a bare number
 *             string is seconds (`"3"` → 3 s)
 *
 * Unlike GOST, a value of the wrong type and a key that is not known are errors at start-up that
 * name the key and its line: a misspelt `sniffing.timout` must not silently mean "no timeout".
 */
import { isMap, isScalar, type Node } from 'yaml';
import type { YamlReader } from '../config/yaml-reader.ts';

/** Keys of a mapping as written, by their lower-case form, with the nodes of key and value. */
interface Entry {
  key: string;
  keyNode: Node;
  /** Null for an empty value (`key:` or `key: ~`): treated as absent. */
  value: Node | null;
}

/**
 * A mapping read case-insensitively: every key must be one of `allowed` (compared ignoring case);
 * results are looked up by the allowed spelling.
 */
export class CiMap {
  readonly #y: YamlReader;
  readonly #path: string;
  /** The mapping itself: errors about absent keys point at its line. */
  readonly #node: Node;
  readonly #entries = new Map<string, Entry>();

  /**
   * `unsupported`: GOST keys tapgate does not implement; present, they fail with "not supported
   * by tapgate" at their line rather than with "unknown key".
   */
  constructor(
    y: YamlReader,
    node: Node | null | undefined,
    path: string,
    allowed: readonly string[],
    unsupported: readonly string[] = [],
  ) {
    this.#y = y;
    this.#path = path;
    if (!isMap(node)) y.fail(node, path, 'expected a mapping');
    this.#node = node;
    const byLower = new Map([...allowed, ...unsupported].map((a) => [a.toLowerCase(), a]));
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : '';
      const lower = key.toLowerCase();
      const where = path === '' ? key : `${path}.${key}`;
      if (!byLower.has(lower)) {
        y.fail(keyNode, where, `unknown key (expected one of: ${allowed.join(', ')})`);
      }
      if (this.#entries.has(lower)) {
        y.fail(keyNode, where, `set twice (keys are not case-sensitive)`);
      }
      const value = pair.value as Node | null;
      const empty = value === null || (isScalar(value) && value.value === null);
      this.#entries.set(lower, { key, keyNode, value: empty ? null : value });
    }
    for (const k of unsupported) if (this.has(k)) this.failKey(k, 'not supported by tapgate');
  }

  get path(): string {
    return this.#path;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** `path.key` as written in the file (or as allowed, when absent). */
  pathOf(key: string): string {
    const written = this.#entries.get(key.toLowerCase())?.key ?? key;
    return this.#path === '' ? written : `${this.#path}.${written}`;
  }

  has(key: string): boolean {
    return this.#entries.has(key.toLowerCase());
  }

  /** The value's node; undefined when the key is absent or its value empty. */
  node(key: string): Node | undefined {
    return this.#entries.get(key.toLowerCase())?.value ?? undefined;
  }

  /** An error about `key`'s value, at its line (the mapping's own line when it is absent). */
  fail(key: string, message: string): never {
    const e = this.#entries.get(key.toLowerCase());
    this.#y.fail(e?.value ?? e?.keyNode ?? this.#node, this.pathOf(key), message);
  }

  /** An error about `key` itself (a setting tapgate does not take), at the key's line. */
  failKey(key: string, message: string): never {
    const e = this.#entries.get(key.toLowerCase());
    this.#y.fail(e?.keyNode ?? this.#node, this.pathOf(key), message);
  }

  string(key: string): string | undefined {
    const v = this.#scalar(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') this.fail(key, 'expected a string');
    return String(v);
  }

  bool(key: string): boolean | undefined {
    const v = this.#scalar(key);
    if (v === undefined || typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    const b = GO_BOOLS.get(v);
    if (b === undefined) this.fail(key, `"${v}" is not true or false`);
    return b;
  }

  int(key: string): number | undefined {
    const v = this.#scalar(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') return v ? 1 : 0;
    const n = typeof v === 'number' ? v : /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) this.fail(key, `"${String(v)}" is not a whole number`);
    return n;
  }

  float(key: string): number | undefined {
    const v = this.#scalar(key);
    if (v === undefined) return undefined;
    const n =
      typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
    if (!Number.isFinite(n)) this.fail(key, `"${String(v)}" is not a number`);
    return n;
  }

  /** Milliseconds. */
  durationMs(key: string): number | undefined {
    const v = this.#scalar(key);
    if (v === undefined) return undefined;
    if (typeof v === 'boolean') this.fail(key, 'expected a duration such as 10s, 500ms or 2m');
    const ms = typeof v === 'number' ? v * 1000 : parseGoDurationMs(v);
    if (ms === null || !Number.isFinite(ms)) {
      this.fail(key, `"${String(v)}" is not a duration such as 10s, 500ms or 2m`);
    }
    return ms;
  }

  /** A mapping of strings (`labels`), keys as written. */
  stringMap(key: string): Map<string, string> | undefined {
    const node = this.node(key);
    if (node === undefined) return undefined;
    if (!isMap(node)) this.fail(key, 'expected a mapping');
    const out = new Map<string, string>();
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? String(pair.key.value) : '';
      const v = pair.value as Node;
      const value: unknown = isScalar(v) ? v.value : undefined;
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        this.#y.fail(v, `${this.pathOf(key)}.${k}`, 'expected a single value');
      }
      out.set(k, String(value));
    }
    return out;
  }

  #scalar(key: string): string | number | boolean | undefined {
    const e = this.#entries.get(key.toLowerCase());
    if (e === undefined || e.value === null) return undefined;
    return this.#y.scalar(e.value, this.pathOf(key));
  }
}

/** strconv.ParseBool's accepted spellings. */
const GO_BOOLS = new Map<string, boolean>([
  ['1', true],
  ['t', true],
  ['T', true],
  ['TRUE', true],
  ['true', true],
  ['True', true],
  ['0', false],
  ['f', false],
  ['F', false],
  ['FALSE', false],
  ['false', false],
  ['False', false],
]);

const GO_UNITS_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3, // U+00B5
  μs: 1e-3, // U+03BC
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A Go `time.ParseDuration` string in milliseconds (`1h2m3.5s`, `-300ms`, `0`), or a bare number
 * of seconds as GOST's metadata reader takes it; null when it is neither.
 */
export function parseGoDurationMs(text: string): number | null {
  const s = text.trim();
  if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(s)) return Number(s) * 1000;
  const m = /^([+-]?)(.+)$/.exec(s);
  if (m === null || m[2] === '') return null;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let total = 0;
  let at = 0;
  const body = m[2]!;
  while (at < body.length) {
    part.lastIndex = at;
    const p = part.exec(body);
    if (p === null) return null;
    total += Number(p[1]) * GO_UNITS_MS[p[2]!]!;
    at = part.lastIndex;
  }
  return m[1] === '-' ? -total : total;
}
