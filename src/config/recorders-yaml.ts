/**
 * Top-level `recorders:` (GOST's shape: `name` + one backend) and their selection by
 * `capture.recorders: [{name, record}]`, read into RecorderSpecs.
 */
import { isMap, isScalar, type Node } from 'yaml';
import { TapgateError } from '../errors.ts';
import { DEFAULT_FILE_ROTATION, type FileRotation } from '../record/sinks/file-target.ts';
import type {
  RecorderBackend,
  RecorderSpec,
  RedisRecorderOptions,
} from '../record/sinks/recorder-spec.ts';
import { DEFAULT_QUEUE_BYTES, DEFAULT_QUEUE_RECORDS } from '../record/sinks/sink-queue.ts';
import { parseHostPort } from '../record/sinks/tcp-target.ts';
import { parseDuration, parseSize } from './units.ts';
import type { YamlReader } from './yaml-reader.ts';

/** The only record kind capture produces. */
export const HANDLER_RECORD = 'recorder.service.handler';
const BACKENDS = ['file', 'http', 'tcp', 'redis'] as const;
const REDIS_TYPES = ['list', 'set', 'sset', 'stream'] as const;
const MB = 1024 * 1024;

/**
 * The recorders `capture.recorders` selects, in its order. `top` is the top-level `recorders`
 * list (may be absent); an unknown name is an error naming the line.
 */
export function readRecorders(
  y: YamlReader,
  top: Node | undefined,
  selection: Node | undefined,
): RecorderSpec[] {
  const defined = new Map<string, Omit<RecorderSpec, 'record'>>();
  if (top) {
    for (const [i, node] of y.seq(top, 'recorders').entries()) {
      const spec = readRecorder(y, node, `recorders[${i}]`);
      if (defined.has(spec.name)) y.fail(node, `recorders[${i}].name`, `"${spec.name}" twice`);
      defined.set(spec.name, spec);
    }
  }
  if (!selection) return [];
  const out: RecorderSpec[] = [];
  for (const [i, node] of y.seqOrOne(selection).entries()) {
    const p = `capture.recorders[${i}]`;
    const m = y.map(node, p, ['name', 'record']);
    const nameNode = m.get('name');
    if (!nameNode) y.fail(node, p, 'a recorder needs a name');
    const name = y.string(nameNode, `${p}.name`);
    const spec = defined.get(name);
    if (!spec) {
      const known = [...defined.keys()];
      y.fail(
        nameNode,
        `${p}.name`,
        `no recorder "${name}" under recorders:` +
          (known.length > 0 ? ` (defined: ${known.join(', ')})` : ''),
      );
    }
    const record = m.has('record') ? y.string(m.get('record'), `${p}.record`) : HANDLER_RECORD;
    if (record !== HANDLER_RECORD) {
      y.fail(m.get('record'), `${p}.record`, `capture produces ${HANDLER_RECORD} records only`);
    }
    if (out.some((s) => s.name === name)) y.fail(nameNode, `${p}.name`, `"${name}" twice`);
    out.push({ ...spec, record });
  }
  return out;
}

function readRecorder(y: YamlReader, node: Node, p: string): Omit<RecorderSpec, 'record'> {
  const m = y.map(node, p, ['name', ...BACKENDS, 'queue']);
  const nameNode = m.get('name');
  if (!nameNode) y.fail(node, p, 'a recorder needs a name');
  const name = y.string(nameNode, `${p}.name`);
  const present = BACKENDS.filter((b) => m.has(b));
  if (present.length !== 1) {
    y.fail(node, p, `give exactly one of: ${BACKENDS.join(', ')}`);
  }
  const kind = present[0]!;
  const bnode = m.get(kind);
  const bp = `${p}.${kind}`;
  let backend: RecorderBackend;
  switch (kind) {
    case 'file':
      backend = readFile(y, bnode, bp);
      break;
    case 'http': {
      const b = y.map(bnode, bp, ['url', 'timeout', 'header', 'batch']);
      const url = required(y, b, 'url', bnode, bp);
      const header: Record<string, string> = {};
      const hnode = b.get('header');
      if (hnode) {
        const h = y.map(hnode, `${bp}.header`, [...keysOf(y, hnode, `${bp}.header`)]);
        for (const [k, v] of h) header[k] = String(y.scalar(v, `${bp}.header.${k}`));
      }
      backend = {
        kind,
        url,
        timeoutMs: timeoutMs(y, b, bp),
        header,
        batch: b.has('batch') ? y.bool(b.get('batch'), `${bp}.batch`) : false,
      };
      break;
    }
    case 'tcp': {
      const b = y.map(bnode, bp, ['addr', 'timeout']);
      const addr = required(y, b, 'addr', bnode, bp);
      y.convert(b.get('addr'), `${bp}.addr`, hostPort);
      backend = { kind, addr, timeoutMs: timeoutMs(y, b, bp) };
      break;
    }
    case 'redis':
      backend = readRedis(y, bnode, bp);
      break;
  }
  const queue = { records: DEFAULT_QUEUE_RECORDS, bytes: DEFAULT_QUEUE_BYTES };
  const qnode = m.get('queue');
  if (qnode) {
    const q = y.map(qnode, `${p}.queue`, ['records', 'bytes']);
    queue.records = y.optional(q, 'records', `${p}.queue`, positiveInt) ?? queue.records;
    queue.bytes = y.optional(q, 'bytes', `${p}.queue`, (v) => parseSize(v, 'bytes')) ?? queue.bytes;
  }
  return { name, backend, queue };
}

function readFile(y: YamlReader, node: Node | undefined, p: string): RecorderBackend {
  const b = y.map(node, p, ['path', 'sep', 'rotation']);
  const path = required(y, b, 'path', node, p);
  const sep = b.has('sep') ? String(y.scalar(b.get('sep'), `${p}.sep`)) : '\n';
  const rotation: FileRotation = { ...DEFAULT_FILE_ROTATION };
  const rnode = b.get('rotation');
  if (rnode) {
    const rp = `${p}.rotation`;
    const r = y.map(rnode, rp, ['maxSize', 'maxAge', 'maxBackups', 'localTime', 'compress']);
    const maxSizeMb = y.optional(r, 'maxSize', rp, nonNegative);
    if (maxSizeMb !== undefined) rotation.maxSizeBytes = Math.round(maxSizeMb * MB);
    rotation.maxAgeDays = y.optional(r, 'maxAge', rp, nonNegative) ?? 0;
    rotation.maxBackups = y.optional(r, 'maxBackups', rp, nonNegativeInt) ?? 0;
    if (r.has('localTime')) rotation.localTime = y.bool(r.get('localTime'), `${rp}.localTime`);
    if (r.has('compress')) rotation.compress = y.bool(r.get('compress'), `${rp}.compress`);
  }
  return { kind: 'file', path, sep, rotation };
}

function readRedis(y: YamlReader, node: Node | undefined, p: string): RecorderBackend {
  const b = y.map(node, p, [
    'addr',
    'db',
    'username',
    'password',
    'key',
    'type',
    'maxLen',
    'timeout',
  ]);
  const addr = required(y, b, 'addr', node, p);
  y.convert(b.get('addr'), `${p}.addr`, hostPort);
  const type = b.has('type') ? y.string(b.get('type'), `${p}.type`) : 'set';
  if (!(REDIS_TYPES as readonly string[]).includes(type)) {
    y.fail(b.get('type'), `${p}.type`, `expected one of: ${REDIS_TYPES.join(', ')}`);
  }
  const opts: RedisRecorderOptions = {
    addr,
    db: y.optional(b, 'db', p, nonNegativeInt) ?? 0,
    key: required(y, b, 'key', node, p),
    type: type as RedisRecorderOptions['type'],
    timeoutMs: timeoutMs(y, b, p) || 5000,
  };
  if (b.has('username')) opts.username = String(y.scalar(b.get('username'), `${p}.username`));
  if (b.has('password')) opts.password = String(y.scalar(b.get('password'), `${p}.password`));
  const maxLen = y.optional(b, 'maxLen', p, positiveInt);
  if (maxLen !== undefined) opts.maxLen = maxLen;
  return { kind: 'redis', ...opts };
}

function required(
  y: YamlReader,
  m: Map<string, Node>,
  key: string,
  node: Node | undefined,
  p: string,
): string {
  if (!m.has(key)) y.fail(node, p, `${key} is required`);
  return y.string(m.get(key), `${p}.${key}`);
}

/** Keys of a mapping whatever they are (header names), for `y.map`. */
function keysOf(y: YamlReader, node: Node, p: string): string[] {
  if (!isMap(node)) y.fail(node, p, 'expected a mapping');
  return node.items.map((pair) => (isScalar(pair.key) ? String(pair.key.value) : ''));
}

function timeoutMs(y: YamlReader, m: Map<string, Node>, p: string): number {
  const sec = y.optional(m, 'timeout', p, (v) => parseDuration(v, 'timeout'));
  return sec === undefined ? 0 : Math.round(sec * 1000);
}

function hostPort(v: string | number): void {
  try {
    parseHostPort(String(v));
  } catch (e) {
    throw new TapgateError('TG_ERR_CONFIG', (e as Error).message);
  }
}

function nonNegative(v: string | number): number {
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= 0)) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a number ≥ 0`);
  }
  return n;
}

function nonNegativeInt(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a whole number ≥ 0`);
  }
  return n;
}

function positiveInt(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a positive integer`);
  }
  return n;
}
