/**
 * The gateway part of tapgate.yaml, in GOST v3's shape (gost-compat.md §5.3): `services`,
 * `bypasses` and `authers` at the top level. Other top-level sections belong to other readers:
 * `capture`, `metrics`, `log` (capture-config-yaml.ts) and `recorders` (recorders-yaml.ts) are
 * skipped here.
 *
 *   services:
 *     - name: edge                       # required, unique
 *       addr: :3128                      # ":PORT" listens on 127.0.0.1 (GOST: every address)
 *       bypass: blocked                  # or bypasses: [a, b]
 *       metadata: {labels: {site: a}}
 *       recorders: [{name: x, record: recorder.service.handler, metadata: {http.body: true}}]
 *       handler:  {type: http, auth: {username: u, password: p}, metadata: {sniffing: true, …}}
 *       listener: {type: tcp, metadata: {maxConnections: 1024}}
 *       forwarder: {nodes: [{name: a, addr: 10.0.0.1:80, filter: {host: .a.test}}]}
 *
 * Keys are matched case-insensitively, as GOST does; an unknown key, a value of the wrong type, an
 * unknown handler or bypass name, or a setting tapgate does not implement (chains, `dns` handler,
 * …) is a TG_ERR_CONFIG naming the key and its line, at start-up.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isSeq, type Node } from 'yaml';
import { YamlReader } from '../config/yaml-reader.ts';
import { TapgateError } from '../errors.ts';
import { MAX_BODY_SIZE_CAP } from '../sniff/sniffer.ts';
import type { BypassConfig } from './bypass.ts';
import { CiMap } from './gost-metadata.ts';

export const HANDLER_TYPES = ['http', 'socks5', 'tcp', 'red', 'sni'] as const;
export type HandlerType = (typeof HANDLER_TYPES)[number];

/** GOST's other names for the same handlers. */
const HANDLER_ALIASES: Record<string, HandlerType> = {
  socks: 'socks5',
  redir: 'red',
  redirect: 'red',
};

export const LISTENER_TYPES = ['tcp', 'red'] as const;
export type ListenerType = (typeof LISTENER_TYPES)[number];

/** Defaults of the limits; every one can be set in YAML (`0` disables a timeout). */
export const gatewayDefaults = {
  /** Bind address when `addr` is `:PORT`. */
  listenHost: '127.0.0.1',
  maxConnections: 1024,
  /** Proxy request head, SOCKS negotiation: a slow client is cut after this (slowloris). */
  handshakeTimeoutMs: 10_000,
  /** Upstream connect. */
  dialTimeoutMs: 10_000,
  /** HTTP proxy: request forwarded → response head received (GOST `readTimeout`; GOST: 15 s). */
  readTimeoutMs: 60_000,
  /** A relay with no byte in either direction for this long is closed. */
  idleTimeoutMs: 300_000,
  /** Peek at the client's first bytes (GOST: none; without one, server-first protocols hang). */
  sniffingTimeoutMs: 2_000,
  websocketSampleRate: 10,
  httpMaxBodySize: 64 * 1024,
} as const;

export interface HostPort {
  /** Host name or IP (without brackets). */
  readonly host: string;
  readonly port: number;
  /** As written in the config. */
  readonly text: string;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface SniffingOptions {
  readonly enabled: boolean;
  /** Deadline for the peek at the client's first bytes; on expiry the bytes are relayed raw. */
  readonly timeoutMs: number;
  readonly websocket: boolean;
  readonly websocketSampleRate: number;
  /** red: on a failed dial to the sniffed host, dial the original destination. */
  readonly fallback: boolean;
  /** red: always dial the original destination (the sniffed host still feeds bypass and records). */
  readonly dialOriginalDst: boolean;
}

/** `mitm.*` handler metadata, kept for the TLS interception layer (src/gateway/mitm/). */
export interface MitmOptions {
  readonly certFile: string;
  readonly keyFile: string;
  readonly alpn: string;
  /** Name of a `bypasses[]` entry: `contains` = do not intercept. */
  readonly bypass: string;
  /** tapgate: PEM CA file trusted for upstream certificates besides the system store. */
  readonly caFile: string;
  /** tapgate: skip upstream certificate verification (explicit opt-in). */
  readonly insecure: boolean;
}

export interface HandlerConfig {
  readonly type: HandlerType;
  /** Accepted users (`auth` and/or `auther`); empty = no authentication. */
  readonly users: readonly Credentials[];
  readonly sniffing: SniffingOptions;
  readonly handshakeTimeoutMs: number;
  readonly dialTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** Body capture set on the handler (tapgate extension); recorder entries override it. */
  readonly httpBody: boolean | undefined;
  readonly httpMaxBodySize: number | undefined;
  readonly mitm: MitmOptions | null;
}

export interface ListenerConfig {
  readonly type: ListenerType;
  readonly maxConnections: number;
}

export interface ForwardNode {
  readonly name: string;
  readonly addr: HostPort;
  /** Sniffed host this node serves (`host` or `filter.host`): `a.test`, `.a.test`, `*.a.test`; '' = any. */
  readonly host: string;
  /** `filter.protocol`: `http` or `tls`; '' = any. */
  readonly protocol: string;
}

/** `services[].recorders[]`: kept for the record sinks (wired by src/record/sinks/). */
export interface RecorderRef {
  readonly name: string;
  readonly record: string;
  readonly httpBody: boolean | undefined;
  readonly httpMaxBodySize: number | undefined;
}

export interface ServiceConfig {
  readonly name: string;
  readonly addr: HostPort;
  readonly handler: HandlerConfig;
  readonly listener: ListenerConfig;
  readonly forwarder: readonly ForwardNode[];
  /** Names of `bypasses[]` entries (`bypass` and `bypasses`). */
  readonly bypass: readonly string[];
  readonly recorders: readonly RecorderRef[];
  readonly labels: ReadonlyMap<string, string>;
}

export interface GatewayConfig {
  readonly services: readonly ServiceConfig[];
  readonly bypasses: readonly BypassConfig[];
}

/** `host:port`, `:port` (→ `defaultHost`), `[v6]:port`; port 0..65535 (0: any free port). */
export function parseHostPort(text: string, defaultHost: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new TapgateError('TG_ERR_CONFIG', `"${text}" is not host:port, :port or [ipv6]:port`);
  }
  const v6 = m[1];
  if (v6 !== undefined && isIP(v6) !== 6) {
    throw new TapgateError('TG_ERR_CONFIG', `"${text}": ${v6} is not an IPv6 address`);
  }
  const host = v6 ?? (m[2] === '' ? defaultHost : m[2]!);
  return { host, port, text };
}

export async function loadGatewayConfigFile(path: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new TapgateError('TG_ERR_CONFIG', `cannot read config ${path}: ${(e as Error).message}`);
  }
  return parseGatewayConfig(text, path);
}

/** Sections of tapgate.yaml read elsewhere (capture, record sinks, metrics, logs) are skipped. */
const TOP_KEYS = ['services', 'bypasses', 'authers', 'recorders', 'capture', 'metrics', 'log'];
/** GOST sections tapgate does not implement: named in the error rather than "unknown key". */
const UNSUPPORTED_TOP = [
  'chains',
  'hops',
  'admissions',
  'resolvers',
  'hosts',
  'ingresses',
  'routers',
  'sds',
  'limiters',
  'climiters',
  'rlimiters',
  'observers',
  'loggers',
  'tls',
  'profiling',
  'api',
];

export function parseGatewayConfig(text: string, file: string): GatewayConfig {
  const { reader: y, root } = YamlReader.parse(text, file);
  if (root === null) return { services: [], bypasses: [] };
  const top: CiMap = new CiMap(y, root, '', TOP_KEYS, UNSUPPORTED_TOP);
  const bypasses = readBypasses(y, top.node('bypasses'));
  const authers = readAuthers(y, top.node('authers'));
  const services: ServiceConfig[] = [];
  const names = new Set<string>();
  const bypassNames = new Set(bypasses.map((b) => b.name));
  listOf(y, top.node('services'), 'services').forEach((node, i) => {
    const s = readService(y, node, `services[${i}]`, authers, bypassNames);
    if (names.has(s.name)) y.fail(node, `services[${i}].name`, `"${s.name}" is used twice`);
    names.add(s.name);
    services.push(s);
  });
  return { services, bypasses };
}

function listOf(y: YamlReader, node: Node | undefined, path: string): Node[] {
  if (node === undefined) return [];
  if (!isSeq(node)) y.fail(node, path, 'expected a list');
  return y.seq(node, path);
}

function required(m: CiMap, key: string): string {
  const v = m.string(key);
  if (v === undefined || v === '') m.fail(key, `required`);
  return v;
}

/** Runs a parser that throws TG_ERR_CONFIG and re-throws its message with the key's line. */
function at<T>(m: CiMap, key: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TapgateError) m.fail(key, e.message);
    throw e;
  }
}

function readService(
  y: YamlReader,
  node: Node,
  path: string,
  authers: ReadonlyMap<string, Credentials[]>,
  bypassNames: ReadonlySet<string>,
): ServiceConfig {
  const m: CiMap = new CiMap(
    y,
    node,
    path,
    [
      'name',
      'addr',
      'handler',
      'listener',
      'forwarder',
      'bypass',
      'bypasses',
      'recorders',
      'metadata',
    ],
    [
      ...['admission', 'admissions', 'limiter', 'climiter', 'rlimiter', 'logger', 'loggers'],
      ...['observer', 'interface', 'sockopts'],
    ],
  );
  const name = required(m, 'name');
  const addrText = required(m, 'addr');
  const addr = at(m, 'addr', () => parseHostPort(addrText, gatewayDefaults.listenHost));
  if (!m.has('handler')) m.fail('handler', 'required');
  const handler = readHandler(y, m.node('handler'), m.pathOf('handler'), authers, bypassNames);
  const listener = m.has('listener')
    ? readListener(y, m.node('listener'), m.pathOf('listener'))
    : { type: 'tcp' as const, maxConnections: gatewayDefaults.maxConnections };
  const forwarder = m.has('forwarder')
    ? readForwarder(y, m.node('forwarder'), m.pathOf('forwarder'))
    : [];
  if (handler.type === 'tcp' && forwarder.length === 0) {
    m.fail(m.has('forwarder') ? 'forwarder' : 'handler', 'a tcp handler needs forwarder.nodes');
  }
  if (
    (handler.type === 'http' || handler.type === 'socks5' || handler.type === 'red') &&
    forwarder.length > 0
  ) {
    m.fail('forwarder', `not supported with a ${handler.type} handler`);
  }
  const bypass: string[] = [];
  const single = m.string('bypass');
  if (single !== undefined && single !== '') bypass.push(single);
  if (m.has('bypasses')) {
    for (const n of y.seqOrOne(m.node('bypasses'))) bypass.push(y.string(n, m.pathOf('bypasses')));
  }
  for (const b of bypass) {
    if (!bypassNames.has(b)) {
      m.fail(m.has('bypass') ? 'bypass' : 'bypasses', `no bypasses[] entry is named "${b}"`);
    }
  }
  let labels = new Map<string, string>();
  if (m.has('metadata')) {
    const md: CiMap = new CiMap(y, m.node('metadata') ?? EMPTY_MAP_NODE, m.pathOf('metadata'), [
      'labels',
    ]);
    labels = md.stringMap('labels') ?? labels;
  }
  const recorders = listOf(y, m.node('recorders'), m.pathOf('recorders')).map((n, i) =>
    readRecorderRef(y, n, `${m.pathOf('recorders')}[${i}]`),
  );
  return { name, addr, handler, listener, forwarder, bypass, recorders, labels };
}

const SNIFF_KEYS = [
  'sniffing',
  'sniffing.timeout',
  'sniffing.websocket',
  'sniffing.websocket.sampleRate',
  'sniffing.fallback',
  'sniffing.dialOriginalDst',
];
const LIMIT_KEYS = ['handshakeTimeout', 'dialTimeout', 'readTimeout', 'idleTimeout'];
const BODY_KEYS = ['http.body', 'http.maxBodySize'];
const MITM_KEYS = [
  'mitm.certFile',
  'mitm.caCertFile',
  'mitm.keyFile',
  'mitm.caKeyFile',
  'mitm.alpn',
  'mitm.bypass',
  'mitm.caFile',
  'mitm.insecure',
];

function readHandler(
  y: YamlReader,
  node: Node | undefined,
  path: string,
  authers: ReadonlyMap<string, Credentials[]>,
  bypassNames: ReadonlySet<string>,
): HandlerConfig {
  const m: CiMap = new CiMap(
    y,
    node,
    path,
    ['type', 'auth', 'auther', 'metadata'],
    ['chain', 'hop', 'authers'],
  );
  const typeText = required(m, 'type').toLowerCase();
  const type = HANDLER_ALIASES[typeText] ?? HANDLER_TYPES.find((t) => t === typeText);
  if (type === undefined) {
    m.fail(
      'type',
      `handler "${typeText}" is not supported (expected one of: ${HANDLER_TYPES.join(', ')})`,
    );
  }
  const users: Credentials[] = [];
  if (m.has('auth')) users.push(readCredentials(y, m.node('auth'), m.pathOf('auth')));
  const auther = m.string('auther');
  if (auther !== undefined) {
    const list = authers.get(auther);
    if (list === undefined) m.fail('auther', `no authers[] entry is named "${auther}"`);
    users.push(...list);
  }
  if (users.length > 0 && type !== 'http' && type !== 'socks5') {
    m.fail(m.has('auth') ? 'auth' : 'auther', `a ${type} handler does not authenticate`);
  }
  const md: CiMap = new CiMap(y, m.node('metadata') ?? EMPTY_MAP_NODE, m.pathOf('metadata'), [
    ...SNIFF_KEYS,
    ...LIMIT_KEYS,
    ...BODY_KEYS,
    ...MITM_KEYS,
  ]);
  const nonNegative = (key: string, fallback: number): number => {
    const v = md.durationMs(key);
    if (v !== undefined && v < 0) md.fail(key, 'must not be negative');
    return v ?? fallback;
  };
  const sniffing: SniffingOptions = {
    // The sni handler always sniffs: the target comes from the sniffed name.
    enabled: type === 'sni' || (md.bool('sniffing') ?? false),
    timeoutMs: nonNegative('sniffing.timeout', 0) || gatewayDefaults.sniffingTimeoutMs,
    websocket: md.bool('sniffing.websocket') ?? false,
    websocketSampleRate:
      md.float('sniffing.websocket.sampleRate') || gatewayDefaults.websocketSampleRate,
    fallback: md.bool('sniffing.fallback') ?? false,
    dialOriginalDst: md.bool('sniffing.dialOriginalDst') ?? false,
  };
  return {
    type,
    users,
    sniffing,
    handshakeTimeoutMs: nonNegative('handshakeTimeout', gatewayDefaults.handshakeTimeoutMs),
    dialTimeoutMs: nonNegative('dialTimeout', gatewayDefaults.dialTimeoutMs),
    readTimeoutMs: nonNegative('readTimeout', gatewayDefaults.readTimeoutMs),
    idleTimeoutMs: nonNegative('idleTimeout', gatewayDefaults.idleTimeoutMs),
    httpBody: md.bool('http.body'),
    httpMaxBodySize: maxBodySize(md),
    mitm: readMitm(md, bypassNames, sniffing.enabled),
  };
}

/** An empty mapping for sections that are optional. */
const EMPTY_MAP_NODE = YamlReader.parse('{}', '').root!;

function maxBodySize(md: CiMap): number | undefined {
  const n = md.int('http.maxBodySize');
  if (n === undefined) return undefined;
  if (n < 0) md.fail('http.maxBodySize', 'must not be negative');
  // GOST: 0 → the default; larger than the cap → the cap.
  return n === 0 ? gatewayDefaults.httpMaxBodySize : Math.min(n, MAX_BODY_SIZE_CAP);
}

function readMitm(
  md: CiMap,
  bypassNames: ReadonlySet<string>,
  sniffing: boolean,
): MitmOptions | null {
  const cert = md.string('mitm.certFile') ?? md.string('mitm.caCertFile') ?? '';
  const key = md.string('mitm.keyFile') ?? md.string('mitm.caKeyFile') ?? '';
  const alpn = md.string('mitm.alpn') ?? '';
  const bypass = md.string('mitm.bypass') ?? '';
  const caFile = md.string('mitm.caFile') ?? '';
  const insecure = md.bool('mitm.insecure') ?? false;
  if (cert === '' && key === '' && alpn === '' && bypass === '' && caFile === '' && !insecure) {
    return null;
  }
  if (cert === '') md.fail('mitm.certFile', 'required with the other mitm.* settings');
  if (key === '') md.fail('mitm.keyFile', 'required with the other mitm.* settings');
  // Interception is decided on the peeked ClientHello.
  if (!sniffing) md.fail('mitm.certFile', 'requires sniffing: true');
  if (alpn !== '' && alpn !== 'h2' && alpn !== 'http/1.1')
    md.fail('mitm.alpn', 'expected h2 or http/1.1');
  if (bypass !== '' && !bypassNames.has(bypass)) {
    md.fail('mitm.bypass', `no bypasses[] entry is named "${bypass}"`);
  }
  return { certFile: cert, keyFile: key, alpn, bypass, caFile, insecure };
}

function readCredentials(y: YamlReader, node: Node | undefined, path: string): Credentials {
  const m: CiMap = new CiMap(y, node, path, ['username', 'password']);
  return { username: required(m, 'username'), password: m.string('password') ?? '' };
}

function readListener(y: YamlReader, node: Node | undefined, path: string): ListenerConfig {
  const m: CiMap = new CiMap(y, node, path, ['type', 'metadata'], ['chain']);
  const typeText = (m.string('type') ?? 'tcp').toLowerCase();
  const type =
    HANDLER_ALIASES[typeText] === 'red' ? 'red' : LISTENER_TYPES.find((t) => t === typeText);
  if (type === undefined) {
    m.fail(
      'type',
      `listener "${typeText}" is not supported (expected one of: ${LISTENER_TYPES.join(', ')})`,
    );
  }
  const md: CiMap = new CiMap(y, m.node('metadata') ?? EMPTY_MAP_NODE, m.pathOf('metadata'), [
    'maxConnections',
  ]);
  const max = md.int('maxConnections') ?? gatewayDefaults.maxConnections;
  if (max < 1) md.fail('maxConnections', 'must be at least 1');
  return { type, maxConnections: max };
}

function readForwarder(y: YamlReader, node: Node | undefined, path: string): ForwardNode[] {
  // Nodes are tried in turn (round robin); GOST's selector strategies are not implemented.
  const m: CiMap = new CiMap(y, node, path, ['nodes'], ['selector']);
  const nodes = listOf(y, m.node('nodes'), m.pathOf('nodes'));
  return nodes.map((n, i) => {
    const p = `${m.pathOf('nodes')}[${i}]`;
    const nm: CiMap = new CiMap(
      y,
      n,
      p,
      ['name', 'addr', 'host', 'filter'],
      ['matcher', 'http', 'tls', 'bypass'],
    );
    const addrText = required(nm, 'addr');
    let host = nm.string('host') ?? '';
    let protocol = '';
    if (nm.has('filter')) {
      const f: CiMap = new CiMap(
        y,
        nm.node('filter'),
        nm.pathOf('filter'),
        ['host', 'protocol'],
        ['path'],
      );
      host = f.string('host') ?? host;
      protocol = (f.string('protocol') ?? '').toLowerCase();
      if (protocol !== '' && protocol !== 'http' && protocol !== 'tls') {
        f.fail('protocol', 'expected http or tls');
      }
    }
    return {
      name: nm.string('name') ?? `node-${i}`,
      addr: at(nm, 'addr', () => parseHostPort(addrText, gatewayDefaults.listenHost)),
      host: host.toLowerCase(),
      protocol,
    };
  });
}

function readRecorderRef(y: YamlReader, node: Node, path: string): RecorderRef {
  const m: CiMap = new CiMap(y, node, path, ['name', 'record', 'metadata']);
  const md: CiMap = new CiMap(y, m.node('metadata') ?? EMPTY_MAP_NODE, m.pathOf('metadata'), [
    ...BODY_KEYS,
    'direction',
    'timeStampFormat',
    'hexdump',
  ]);
  return {
    name: required(m, 'name'),
    record: m.string('record') ?? 'recorder.service.handler',
    httpBody: md.bool('http.body'),
    httpMaxBodySize: maxBodySize(md),
  };
}

function readBypasses(y: YamlReader, node: Node | undefined): BypassConfig[] {
  const names = new Set<string>();
  return listOf(y, node, 'bypasses').map((n, i) => {
    const path = `bypasses[${i}]`;
    const m: CiMap = new CiMap(
      y,
      n,
      path,
      ['name', 'whitelist', 'reverse', 'network', 'matchers', 'file'],
      ['reload', 'redis', 'http', 'plugin'],
    );
    const name = required(m, 'name');
    if (names.has(name)) m.fail('name', `"${name}" is used twice`);
    names.add(name);
    const network = (m.string('network') ?? '').toLowerCase();
    if (network !== '' && network !== 'tcp' && network !== 'udp')
      m.fail('network', 'expected tcp or udp');
    const matchers = m.has('matchers')
      ? y.seqOrOne(m.node('matchers')).map((x) => String(y.scalar(x, m.pathOf('matchers'))).trim())
      : [];
    if (m.has('file')) {
      const f: CiMap = new CiMap(y, m.node('file'), m.pathOf('file'), ['path']);
      const file = required(f, 'path');
      matchers.push(...at(f, 'path', () => readPatternFile(file)));
    }
    return {
      name,
      whitelist: m.bool('whitelist') ?? m.bool('reverse') ?? false,
      network,
      matchers: matchers.filter((p) => p !== ''),
    };
  });
}

/** One pattern per line; `#` starts a comment (GOST's file loader). */
function readPatternFile(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TapgateError('TG_ERR_CONFIG', `cannot read ${path}: ${(e as Error).message}`);
  }
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '');
}

function readAuthers(y: YamlReader, node: Node | undefined): Map<string, Credentials[]> {
  const out = new Map<string, Credentials[]>();
  listOf(y, node, 'authers').forEach((n, i) => {
    const path = `authers[${i}]`;
    const m: CiMap = new CiMap(
      y,
      n,
      path,
      ['name', 'auths'],
      ['file', 'reload', 'redis', 'http', 'plugin'],
    );
    const name = required(m, 'name');
    if (out.has(name)) m.fail('name', `"${name}" is used twice`);
    const auths = listOf(y, m.node('auths'), m.pathOf('auths')).map((a, j) =>
      readCredentials(y, a, `${m.pathOf('auths')}[${j}]`),
    );
    out.set(name, auths);
  });
  return out;
}
