/**
 * Reads the `capture:` section of tapgate.yaml into a CaptureConfigPatch (see capture-config.ts for
 * the shape). Kept apart so a run without a config file never loads the YAML parser.
 */
import { readFile } from 'node:fs/promises';
import type { Node } from 'yaml';
import { TapgateError } from '../errors.ts';
import { parseCidr } from '../flow/cidr.ts';
import { MAX_CUTOFF_CLASSES, type CutoffClass } from '../flow/cutoff.ts';
import {
  parsePortRange,
  protoNumbers,
  stripUndefined,
  type CaptureConfigPatch,
  type LiveCaptureSettings,
  type SniffSettings,
} from './capture-config.ts';
import { parseDuration, parsePercent, parseSize } from './units.ts';
import { YamlReader } from './yaml-reader.ts';
import { readRecorders } from './recorders-yaml.ts';
import { LOG_LEVELS, type LogLevel } from './log-level.ts';

/** Reads tapgate.yaml and returns what its `capture:` section sets. */
export async function loadCaptureConfigFile(path: string): Promise<CaptureConfigPatch> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TapgateError('TG_ERR_CONFIG', `cannot read config ${path}: ${(e as Error).message}`);
  }
  return parseCaptureConfig(text, path);
}

export function parseCaptureConfig(text: string, file: string): CaptureConfigPatch {
  const { reader: y, root } = YamlReader.parse(text, file);
  if (root === null) return {};
  const top = y.map(root, '', ['capture', 'metrics', 'log', 'recorders']);
  const patch: CaptureConfigPatch = {};
  const metricsNode = top.get('metrics');
  if (metricsNode) {
    const m = y.map(metricsNode, 'metrics', ['addr']);
    const addr = m.get('addr');
    if (addr) patch.metricsAddr = y.string(addr, 'metrics.addr');
  }
  const logNode = top.get('log');
  if (logNode) {
    const l = y.map(logNode, 'log', ['level']);
    const level = l.get('level');
    if (level) {
      const text = y.string(level, 'log.level');
      if (!(LOG_LEVELS as readonly string[]).includes(text)) {
        y.fail(level, 'log.level', `expected one of: ${LOG_LEVELS.join(', ')}`);
      }
      patch.logLevel = text as LogLevel;
    }
  }
  const captureNode = top.get('capture');
  if (!captureNode) return patch;
  const cap = y.map(captureNode, 'capture', [
    'read',
    'interfaces',
    'live',
    'source',
    'output',
    'flows',
    'cutoff',
    'records',
    'recorders',
    'sniffing',
  ]);
  const read = cap.get('read');
  if (read) patch.input = y.string(read, 'capture.read');
  const ifaces = cap.get('interfaces');
  if (ifaces) {
    patch.interfaces = y.seqOrOne(ifaces).map((n) => y.string(n, 'capture.interfaces'));
  }
  const liveNode = cap.get('live');
  if (liveNode) patch.live = readLive(y, liveNode);
  const records = cap.get('records');
  if (records) patch.recordsPath = y.string(records, 'capture.records');
  const recorders = readRecorders(y, top.get('recorders'), cap.get('recorders'));
  if (recorders.length > 0) patch.recorders = recorders;
  const sniffNode = cap.get('sniffing');
  if (sniffNode) patch.sniff = readSniffing(y, sniffNode);
  const source = cap.get('source');
  if (source) patch.sourceName = y.string(source, 'capture.source');

  const outNode = cap.get('output');
  if (outNode) {
    const p = 'capture.output';
    const out = y.map(outNode, p, [
      'dir',
      'compress',
      'gzipLevel',
      'gzipMinSaving',
      'rotateInterval',
      'rotateSize',
      'retainSize',
      'retainAge',
    ]);
    if (out.has('dir')) patch.outDir = y.string(out.get('dir'), `${p}.dir`);
    if (out.has('compress')) patch.compress = y.bool(out.get('compress'), `${p}.compress`);
    const size = (k: string): number | undefined => y.optional(out, k, p, (v) => parseSize(v, k));
    const dur = (k: string): number | undefined =>
      y.optional(out, k, p, (v) => parseDuration(v, k));
    Object.assign(
      patch,
      stripUndefined({
        gzipLevel: y.optional(out, 'gzipLevel', p, Number),
        gzipMinSaving: y.optional(out, 'gzipMinSaving', p, (v) => parsePercent(v, 'gzipMinSaving')),
        rotateIntervalSec: dur('rotateInterval'),
        rotateSizeBytes: size('rotateSize'),
        retainSizeBytes: size('retainSize'),
        retainAgeSec: dur('retainAge'),
      }),
    );
  }

  const flowsNode = cap.get('flows');
  if (flowsNode) {
    const flows = y.map(flowsNode, 'capture.flows', ['maxFlows', 'timeouts']);
    patch.flows = {};
    const max = flows.get('maxFlows');
    if (max) patch.flows.maxFlows = y.convert(max, 'capture.flows.maxFlows', positiveInt);
    const tNode = flows.get('timeouts');
    if (tNode) {
      const p = 'capture.flows.timeouts';
      const t = y.map(tNode, p, ['tcp', 'udp', 'other', 'tcpClosed']);
      const dur = (k: string): number | undefined =>
        y.optional(t, k, p, (v) => parseDuration(v, k));
      Object.assign(
        patch.flows,
        stripUndefined({
          tcpTimeoutSec: dur('tcp'),
          udpTimeoutSec: dur('udp'),
          otherTimeoutSec: dur('other'),
          tcpClosedTimeoutSec: dur('tcpClosed'),
        }),
      );
    }
  }

  const cutNode = cap.get('cutoff');
  if (cutNode) {
    const p = 'capture.cutoff';
    const cut = y.map(cutNode, p, ['bytes', 'packets', 'perDirection', 'classes']);
    patch.cutoff = {};
    Object.assign(
      patch.cutoff,
      stripUndefined({
        bytes: y.optional(cut, 'bytes', p, (v) => parseSize(v, 'bytes')),
        packets: y.optional(cut, 'packets', p, nonNegativeInt),
      }),
    );
    if (cut.get('perDirection')) {
      patch.cutoff.perDirection = y.bool(cut.get('perDirection'), `${p}.perDirection`);
    }
    const classesNode = cut.get('classes');
    if (classesNode) {
      const items = y.seq(classesNode, `${p}.classes`);
      if (items.length > MAX_CUTOFF_CLASSES) {
        y.fail(classesNode, `${p}.classes`, `at most ${MAX_CUTOFF_CLASSES} classes`);
      }
      patch.cutoff.classes = items.map((n, i) => readClass(y, n, `${p}.classes[${i}]`));
    }
  }
  return patch;
}

function readLive(y: YamlReader, node: Node): Partial<LiveCaptureSettings> {
  const p = 'capture.live';
  const m = y.map(node, p, [
    'engine',
    'workers',
    'snapLen',
    'filter',
    'promisc',
    'ringBlockSize',
    'ringBlocks',
    'ringBlockTimeout',
    'pcapBufferSize',
    'duration',
  ]);
  const engine = m.has('engine') ? y.string(m.get('engine'), `${p}.engine`) : undefined;
  if (engine !== undefined && engine !== 'af-packet' && engine !== 'pcap') {
    y.fail(m.get('engine'), `${p}.engine`, `"${engine}" is not af-packet or pcap`);
  }
  return stripUndefined({
    engine,
    workers: y.optional(m, 'workers', p, positiveInt),
    snapLen: y.optional(m, 'snapLen', p, positiveInt),
    filter: m.has('filter') ? y.string(m.get('filter'), `${p}.filter`) : undefined,
    promisc: m.has('promisc') ? y.bool(m.get('promisc'), `${p}.promisc`) : undefined,
    ringBlockSizeBytes: y.optional(m, 'ringBlockSize', p, (v) => parseSize(v, 'ringBlockSize')),
    ringBlocks: y.optional(m, 'ringBlocks', p, positiveInt),
    ringBlockTimeoutMs: y.optional(m, 'ringBlockTimeout', p, (v) =>
      Math.round(parseDuration(v, 'ringBlockTimeout') * 1000),
    ),
    pcapBufferBytes: y.optional(m, 'pcapBufferSize', p, (v) => parseSize(v, 'pcapBufferSize')),
    durationSec: y.optional(m, 'duration', p, (v) => parseDuration(v, 'duration')),
  }) as Partial<LiveCaptureSettings>; // undefined values are gone
}

/** `capture.sniffing`, with GOST's dotted key names for the shared settings. */
function readSniffing(y: YamlReader, node: Node): Partial<SniffSettings> {
  const p = 'capture.sniffing';
  const m = y.map(node, p, [
    'http.body',
    'http.maxBodySize',
    'websocket',
    'websocket.sampleRate',
    'dnsPorts',
    'reassemblyMemory',
    'reassemblyBufferPerSide',
  ]);
  const bool = (k: string): boolean | undefined =>
    m.has(k) ? y.bool(m.get(k), `${p}.${k}`) : undefined;
  return stripUndefined({
    httpBody: bool('http.body'),
    httpMaxBodySize: y.optional(m, 'http.maxBodySize', p, (v) => parseSize(v, 'http.maxBodySize')),
    websocketFrames: bool('websocket'),
    websocketSampleRate: y.optional(m, 'websocket.sampleRate', p, sampleRate),
    dnsPorts: m.has('dnsPorts')
      ? y.seqOrOne(m.get('dnsPorts')).map((n) => y.convert(n, `${p}.dnsPorts`, port))
      : undefined,
    reassemblyMemoryBytes: y.optional(m, 'reassemblyMemory', p, (v) =>
      parseSize(v, 'reassemblyMemory'),
    ),
    reassemblyPerSideBytes: y.optional(m, 'reassemblyBufferPerSide', p, (v) =>
      parseSize(v, 'reassemblyBufferPerSide'),
    ),
  }) as Partial<SniffSettings>; // undefined values are gone
}

/** Frames per second; any number (negative = every frame). */
function sampleRate(v: string | number): number {
  const n = Number(v);
  if (typeof v === 'string' && v.trim() === '') throw new TapgateError('TG_ERR_CONFIG', 'empty');
  if (!Number.isFinite(n)) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a number of frames per second`);
  }
  return n;
}

function readClass(y: YamlReader, node: Node, path: string): CutoffClass {
  const m = y.map(node, path, ['name', 'match', 'bytes', 'packets']);
  const name = m.get('name') ? y.string(m.get('name'), `${path}.name`) : path;
  // Limits left out inherit the job's default cutoff.
  const cls: CutoffClass = { name, protocols: [], ports: [], cidrs: [] };
  if (m.get('bytes')) {
    cls.bytes = y.convert(m.get('bytes'), `${path}.bytes`, (v) => parseSize(v, 'bytes'));
  }
  if (m.get('packets')) {
    cls.packets = y.convert(m.get('packets'), `${path}.packets`, nonNegativeInt);
  }
  const matchNode = m.get('match');
  if (!matchNode) y.fail(node, path, 'a class needs a match (proto, ports and/or cidrs)');
  const match = y.map(matchNode, `${path}.match`, ['proto', 'ports', 'cidrs']);
  const protos = y.seqOrOne(match.get('proto'));
  cls.protocols = protos.map((n) =>
    y.convert(n, `${path}.match.proto`, (v) => {
      const num = typeof v === 'number' ? v : (protoNumbers[v.toLowerCase()] ?? Number(v));
      if (!Number.isInteger(num) || num < 0 || num > 255) {
        throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not tcp, udp, icmp, icmpv6 or 0..255`);
      }
      return num;
    }),
  );
  const ports = y.seqOrOne(match.get('ports'));
  cls.ports = ports.map((n) => y.convert(n, `${path}.match.ports`, parsePortRange));
  const cidrs = y.seqOrOne(match.get('cidrs'));
  cls.cidrs = cidrs.map((n) => y.convert(n, `${path}.match.cidrs`, (v) => parseCidr(String(v))));
  return cls;
}

function port(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a port (1-65535)`);
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

function nonNegativeInt(v: string | number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a whole number ≥ 0`);
  }
  return n;
}
