/**
 * Writes a GostRecord as one JSON line, byte for byte as GOST's Go `encoding/json` writes the same
 * values (gost-compat.md §1.1–1.6, encoding rules §1.2):
 *
 * - keys in struct declaration order (the order of record-types.ts); map keys (`header`,
 *   `labels`) sorted by UTF-8 bytes;
 * - `omitempty` keys left out when undefined or `''` (`labels` when empty, objects when absent);
 * - byte fields as padded standard base64, `null` when nothing was captured;
 * - strings escaped as Go does (HTML-safe `\u003c \u003e \u0026`, `\u2028 \u2029`, controls);
 * - integers as decimal, `duration` also from a bigint; times via RFC 3339 with nanoseconds.
 *
 * tapgate's extension keys inside GOST's objects (`tls`: clientVersions … certificates, `dns`:
 * rcode, answers) are written only when non-empty, like an `omitempty` Go field, so a unit that has
 * nothing extra yields exactly GOST's object. Keys of tapgate's own objects (`flow`, certificates, answers)
 * are always written.
 *
 * Hand-written rather than JSON.stringify: key order, map sorting and Go's escaping all differ.
 */
import type { Timestamp } from '../sniff/sniffer.ts';
import type {
  CertificateRecord,
  DnsAnswerRecord,
  DnsRecord,
  FlowExtension,
  GostRecord,
  HeaderMap,
  HttpMessageRecord,
  HttpRecord,
  TlsRecord,
  WebSocketRecord,
} from './record-types.ts';
import { formatRfc3339Nano } from './rfc3339.ts';

export interface SerializeOptions {
  /**
   * Zone for `time` and `flow.firstSeen`/`lastSeen`, as minutes east of UTC (`60` → `+01:00`).
   * Default: the local zone, as GOST stamps records.
   */
  offsetMinutes?: number;
}

/**
 * Any character Go would not write as it is. Go writes printable ASCII literally except `"` and `\`
 * and, being HTML-safe by default, `<` `>` `&`; DEL (0x7f) stays literal.
 */
const NEEDS_ESCAPE = /[^\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x5b\x5d-\x7f]/;

const ASCII_LIMIT = 0x80;
const LINE_SEPARATOR = 0x2028;
const PARAGRAPH_SEPARATOR = 0x2029;
const REPLACEMENT_CHAR = 0xfffd;
const HIGH_SURROGATE_MIN = 0xd800;
const HIGH_SURROGATE_MAX = 0xdbff;
const LOW_SURROGATE_MIN = 0xdc00;
const LOW_SURROGATE_MAX = 0xdfff;
const SURROGATE_MIN = HIGH_SURROGATE_MIN;
const PRIVATE_USE_MIN = 0xe000;
// compareUtf8 moves U+E000–U+FFFF down to U+D800–U+F7FF and the surrogates up to U+F800–U+FFFF.
const SURROGATE_SHIFT = 0x800;
const SURROGATE_LIFT = 0x2000;

/** Two-character escapes (`\b`, `\f` since Go 1.22; older Go wrote `\u0008`, `\u000c`). */
const NAMED_ESCAPES: ReadonlyMap<number, string> = new Map([
  [0x08, '\\b'],
  [0x09, '\\t'],
  [0x0a, '\\n'],
  [0x0c, '\\f'],
  [0x0d, '\\r'],
  [0x22, '\\"'],
  [0x5c, '\\\\'],
]);

/** Escape text per ASCII code; '' when Go writes the byte as it is. */
const ASCII_ESCAPES: readonly string[] = Array.from({ length: ASCII_LIMIT }, (_, c) => {
  const known = NAMED_ESCAPES.get(c);
  if (known !== undefined) return known;
  // Go writes other control bytes and the HTML-unsafe `<` `>` `&` as \u00xx, lowercase hex.
  if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26) {
    return '\\u00' + c.toString(16).padStart(2, '0');
  }
  return '';
});

/**
 * The slow path of `quoteJsonString`: Go's escaping for text with something to escape.
 *
 * U+FFFD is written as `\ufffd`: by the record convention a U+FFFD in a decoded string stands for
 * an invalid byte on the wire, which Go escapes that way. A lone surrogate (no UTF-8 form) becomes
 * `\ufffd` as well; a surrogate pair is written as its UTF-8 character.
 */
function escapeSlow(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string;
    if (c < ASCII_LIMIT) {
      esc = ASCII_ESCAPES[c]!;
      if (esc === '') continue;
    } else if (c === LINE_SEPARATOR || c === PARAGRAPH_SEPARATOR || c === REPLACEMENT_CHAR) {
      esc = '\\u' + c.toString(16);
    } else if (c >= SURROGATE_MIN && c <= LOW_SURROGATE_MAX) {
      const next = i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
      if (c <= HIGH_SURROGATE_MAX && next >= LOW_SURROGATE_MIN && next <= LOW_SURROGATE_MAX) {
        i++; // a valid pair: literal
        continue;
      }
      esc = '\\ufffd';
    } else {
      continue;
    }
    out += s.slice(start, i) + esc;
    start = i + 1;
  }
  return out + s.slice(start);
}

/** `s` as a Go JSON string literal, quotes included. */
export function quoteJsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? '"' + escapeSlow(s) + '"' : '"' + s + '"';
}

/**
 * Order of the UTF-8 encodings of `a` and `b` (= code point order), as Go sorts map keys. UTF-16
 * code units agree with it except that surrogates (U+10000 and up) sort before U+E000–U+FFFF.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= SURROGATE_MIN && y >= SURROGATE_MIN) {
      x = x >= PRIVATE_USE_MIN ? x - SURROGATE_SHIFT : x + SURROGATE_LIFT;
      y = y >= PRIVATE_USE_MIN ? y - SURROGATE_SHIFT : y + SURROGATE_LIFT;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** Decimal text of an integer field; a non-integer is a bug upstream (Go could not emit it). */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`gost-json: not an integer: ${n}`);
  return String(n);
}

function bool(b: boolean): string {
  return b ? 'true' : 'false';
}

/** Buffers, and the Uint8Arrays records become after crossing threads (structured clone). */
function bytes(b: Uint8Array | null): string {
  if (b === null) return 'null';
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return '"' + buf.toString('base64') + '"';
}

function time(ts: Timestamp, offsetMinutes: number | undefined): string {
  return '"' + formatRfc3339Nano(ts, offsetMinutes) + '"';
}

function stringArray(values: readonly string[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + quoteJsonString(values[i]!);
  return out + ']';
}

function intArray(values: readonly number[]): string {
  let out = '[';
  for (let i = 0; i < values.length; i++) out += (i === 0 ? '' : ',') + int(values[i]!);
  return out + ']';
}

/** A Go map as JSON: keys sorted by UTF-8 bytes. */
function mapObject<V>(map: ReadonlyMap<string, V>, value: (v: V) => string): string {
  const keys = [...map.keys()];
  if (keys.length > 1) keys.sort(compareUtf8);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    out += (i === 0 ? '' : ',') + quoteJsonString(key) + ':' + value(map.get(key)!);
  }
  return out + '}';
}

/** `,"key":"value"`, or '' when the value is empty (a string `omitempty` field). */
function optString(key: string, value: string | undefined): string {
  return value ? ',"' + key + '":' + quoteJsonString(value) : '';
}

function header(h: HeaderMap | null): string {
  return h === null ? 'null' : mapObject(h, stringArray);
}

function httpMessage(m: HttpMessageRecord): string {
  return (
    '{"contentLength":' +
    int(m.contentLength) +
    ',"header":' +
    header(m.header) +
    ',"body":' +
    bytes(m.body) +
    '}'
  );
}

function http(h: HttpRecord): string {
  return (
    '{"host":' +
    quoteJsonString(h.host) +
    ',"method":' +
    quoteJsonString(h.method) +
    ',"proto":' +
    quoteJsonString(h.proto) +
    ',"scheme":' +
    quoteJsonString(h.scheme) +
    ',"uri":' +
    quoteJsonString(h.uri) +
    ',"cached":' +
    bool(h.cached) +
    ',"statusCode":' +
    int(h.statusCode) +
    ',"request":' +
    httpMessage(h.request) +
    ',"response":' +
    httpMessage(h.response) +
    '}'
  );
}

function websocket(w: WebSocketRecord): string {
  return (
    '{"from":' +
    quoteJsonString(w.from) +
    ',"fin":' +
    bool(w.fin) +
    ',"rsv1":' +
    bool(w.rsv1) +
    ',"rsv2":' +
    bool(w.rsv2) +
    ',"rsv3":' +
    bool(w.rsv3) +
    ',"opcode":' +
    int(w.opcode) +
    ',"masked":' +
    bool(w.masked) +
    ',"maskKey":' +
    int(w.maskKey) +
    ',"length":' +
    int(w.length) +
    ',"payload":' +
    bytes(w.payload) +
    '}'
  );
}

function certificate(c: CertificateRecord): string {
  return (
    '{"subject":' +
    quoteJsonString(c.subject) +
    ',"issuer":' +
    quoteJsonString(c.issuer) +
    ',"sans":' +
    stringArray(c.sans) +
    ',"notBefore":' +
    quoteJsonString(c.notBefore) +
    ',"notAfter":' +
    quoteJsonString(c.notAfter) +
    ',"serial":' +
    quoteJsonString(c.serial) +
    ',"sha256":' +
    quoteJsonString(c.sha256) +
    '}'
  );
}

/** `,"key":[…]`, or '' for an empty list (an extension key written only when non-empty). */
function optList<T>(key: string, values: readonly T[], write: (v: readonly T[]) => string): string {
  return values.length === 0 ? '' : ',"' + key + '":' + write(values);
}

function certificates(list: readonly CertificateRecord[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + certificate(list[i]!);
  return out + ']';
}

function tls(t: TlsRecord): string {
  return (
    '{"serverName":' +
    quoteJsonString(t.serverName) +
    ',"cipherSuite":' +
    quoteJsonString(t.cipherSuite) +
    ',"compressionMethod":' +
    int(t.compressionMethod) +
    ',"proto":' +
    quoteJsonString(t.proto) +
    ',"version":' +
    quoteJsonString(t.version) +
    ',"clientHello":' +
    quoteJsonString(t.clientHello) +
    ',"serverHello":' +
    quoteJsonString(t.serverHello) +
    optList('clientVersions', t.clientVersions, stringArray) +
    optList('clientCiphers', t.clientCiphers, stringArray) +
    optList('alpnOffered', t.alpnOffered, stringArray) +
    optString('alpnSelected', t.alpnSelected) +
    optList('clientExtensions', t.clientExtensions, intArray) +
    optString('ja3', t.ja3) +
    optString('ja3Hash', t.ja3Hash) +
    optString('ja3s', t.ja3s) +
    optString('ja3sHash', t.ja3sHash) +
    optString('ja4', t.ja4) +
    optList('certificates', t.certificates, certificates) +
    '}'
  );
}

function dnsAnswer(a: DnsAnswerRecord): string {
  return (
    '{"name":' +
    quoteJsonString(a.name) +
    ',"type":' +
    quoteJsonString(a.type) +
    ',"class":' +
    quoteJsonString(a.class) +
    ',"ttl":' +
    int(a.ttl) +
    ',"data":' +
    quoteJsonString(a.data) +
    '}'
  );
}

function dnsAnswers(list: readonly DnsAnswerRecord[]): string {
  let out = '[';
  for (let i = 0; i < list.length; i++) out += (i === 0 ? '' : ',') + dnsAnswer(list[i]!);
  return out + ']';
}

function dns(d: DnsRecord): string {
  return (
    '{"id":' +
    int(d.id) +
    ',"name":' +
    quoteJsonString(d.name) +
    ',"class":' +
    quoteJsonString(d.class) +
    ',"type":' +
    quoteJsonString(d.type) +
    ',"question":' +
    quoteJsonString(d.question) +
    ',"answer":' +
    quoteJsonString(d.answer) +
    ',"cached":' +
    bool(d.cached) +
    optString('rcode', d.rcode) +
    optList('answers', d.answers, dnsAnswers) +
    '}'
  );
}

function flow(f: FlowExtension, offsetMinutes: number | undefined): string {
  return (
    '{"communityId":' +
    quoteJsonString(f.communityId) +
    ',"clientPackets":' +
    int(f.clientPackets) +
    ',"clientBytes":' +
    int(f.clientBytes) +
    ',"serverPackets":' +
    int(f.serverPackets) +
    ',"serverBytes":' +
    int(f.serverBytes) +
    ',"firstSeen":' +
    time(f.firstSeen, offsetMinutes) +
    ',"lastSeen":' +
    time(f.lastSeen, offsetMinutes) +
    ',"midstream":' +
    bool(f.midstream) +
    ',"gaps":' +
    int(f.gaps) +
    ',"gapBytes":' +
    int(f.gapBytes) +
    ',"cutoff":' +
    bool(f.cutoff) +
    ',"pcap":' +
    stringArray(f.pcap) +
    '}'
  );
}

/**
 * One record as a JSON line (no trailing newline), in GOST's key order with tapgate's `flow` after
 * `time`. Throws RangeError when an integer field holds a non-integer.
 */
export function serializeRecord(rec: GostRecord, options?: SerializeOptions): string {
  const offsetMinutes = options?.offsetMinutes;
  let out = rec.node ? '{"node":' + quoteJsonString(rec.node) + ',"service":' : '{"service":';
  out += quoteJsonString(rec.service);
  if (rec.labels && rec.labels.size > 0)
    out += ',"labels":' + mapObject(rec.labels, quoteJsonString);
  out +=
    ',"network":' +
    quoteJsonString(rec.network) +
    ',"remote":' +
    quoteJsonString(rec.remote) +
    ',"local":' +
    quoteJsonString(rec.local) +
    ',"client":' +
    quoteJsonString(rec.client) +
    ',"src":' +
    quoteJsonString(rec.src) +
    ',"dst":' +
    quoteJsonString(rec.dst) +
    ',"host":' +
    quoteJsonString(rec.host) +
    optString('proto', rec.proto) +
    ',"clientIP":' +
    quoteJsonString(rec.clientIP) +
    optString('clientID', rec.clientID);
  if (rec.http) out += ',"http":' + http(rec.http);
  if (rec.websocket) out += ',"websocket":' + websocket(rec.websocket);
  if (rec.tls) out += ',"tls":' + tls(rec.tls);
  if (rec.dns) out += ',"dns":' + dns(rec.dns);
  out +=
    optString('route', rec.route) +
    ',"inputBytes":' +
    int(rec.inputBytes) +
    ',"outputBytes":' +
    int(rec.outputBytes) +
    optString('redirect', rec.redirect) +
    optString('err', rec.err) +
    ',"sid":' +
    quoteJsonString(rec.sid) +
    ',"duration":' +
    (typeof rec.duration === 'bigint' ? rec.duration.toString() : int(rec.duration)) +
    ',"time":' +
    time(rec.time, offsetMinutes);
  if (rec.flow) out += ',"flow":' + flow(rec.flow, offsetMinutes);
  return out + '}';
}
