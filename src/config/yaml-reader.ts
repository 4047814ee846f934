/**
 * Typed access to a parsed YAML document that reports problems as `file:line: key.path: what`.
 * Every mapping is read with the list of keys it may hold, so an unknown or misspelt key is an error
 * at start-up that names the key and the line, never a silently ignored setting.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { TapgateError } from '../errors.ts';

export class YamlReader {
  readonly #file: string;
  readonly #lines: LineCounter;

  private constructor(file: string, lines: LineCounter) {
    this.#file = file;
    this.#lines = lines;
  }

  /** Parses `text`; syntax errors become a TG_ERR_CONFIG naming the line. */
  static parse(text: string, file: string): { reader: YamlReader; root: Node | null } {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
    const reader = new YamlReader(file, lines);
    const err = doc.errors[0];
    if (err) {
      const line = lines.linePos(err.pos[0]).line;
      throw new TapgateError('TG_ERR_CONFIG', `${file}:${line}: ${err.message.split('\n')[0]!}`);
    }
    return { reader, root: doc.contents ?? null };
  }

  fail(node: Node | null | undefined, path: string, message: string): never {
    const pos = node?.range?.[0];
    const where = pos === undefined ? this.#file : `${this.#file}:${this.#lines.linePos(pos).line}`;
    throw new TapgateError('TG_ERR_CONFIG', `${where}: ${path}: ${message}`);
  }

  /** Entries of a mapping, after checking every key is in `allowed`. */
  map(node: Node | null | undefined, path: string, allowed: readonly string[]): Map<string, Node> {
    if (!isMap(node)) this.fail(node, path, 'expected a mapping');
    const out = new Map<string, Node>();
    for (const pair of node.items) {
      const keyNode = pair.key as Node;
      const key = isScalar(keyNode) ? String(keyNode.value) : '';
      const keyPath = path ? `${path}.${key}` : key;
      if (!allowed.includes(key)) {
        this.fail(keyNode, keyPath, `unknown key (expected one of: ${allowed.join(', ')})`);
      }
      out.set(key, pair.value as Node);
    }
    return out;
  }

  seq(node: Node | undefined, path: string): Node[] {
    if (!isSeq(node)) this.fail(node, path, 'expected a list');
    return node.items as Node[];
  }

  /** A scalar that may be written either as a list or as one value. */
  seqOrOne(node: Node | undefined): Node[] {
    return isSeq(node) ? (node.items as Node[]) : node ? [node] : [];
  }

  scalar(node: Node | undefined, path: string): string | number | boolean {
    if (!isScalar(node)) this.fail(node, path, 'expected a single value');
    const v = node.value;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    this.fail(node, path, 'expected a string, number or boolean');
  }

  string(node: Node | undefined, path: string): string {
    const v = this.scalar(node, path);
    if (typeof v !== 'string') this.fail(node, path, 'expected a string');
    return v;
  }

  bool(node: Node | undefined, path: string): boolean {
    const v = this.scalar(node, path);
    if (typeof v !== 'boolean') this.fail(node, path, 'expected true or false');
    return v;
  }

  /** `convert` for `key` of a mapping read with `map`; undefined when the key is absent. */
  optional<T>(
    m: Map<string, Node>,
    key: string,
    path: string,
    parse: (v: string | number) => T,
  ): T | undefined {
    const node = m.get(key);
    return node === undefined ? undefined : this.convert(node, `${path}.${key}`, parse);
  }

  /** Runs `parse` on the scalar, turning its TapgateError into one that carries the line. */
  convert<T>(node: Node | undefined, path: string, parse: (v: string | number) => T): T {
    const v = this.scalar(node, path);
    if (typeof v === 'boolean') this.fail(node, path, 'expected a value, not true/false');
    try {
      return parse(v);
    } catch (e) {
      if (e instanceof TapgateError) this.fail(node, path, e.message);
      throw e;
    }
  }
}
