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
 * Hand-written rather than JSON.stringify: key order, map sorting and Go's escaping all differ. The
 * text is written as UTF-8 straight into a byte buffer (json-writer.ts): the JSONL sink hands those
 * bytes to its stream, `serializeRecord` decodes them into a string.
 */
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
import {
  ASCII_ESCAPES,
  JsonWriter,
  literal,
  literals,
  NEEDS_ESCAPE,
  PRINTABLE_ASCII,
  type Literal,
} from './json-writer.ts';

export interface SerializeOptions {
  /**
   * Zone for `time` and `flow.firstSeen`/`lastSeen`, as minutes east of UTC (`60` → `+01:00`).
   * Default: the local zone, as GOST stamps records.
   */
  offsetMinutes?: number;
}

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
/** Maps with up to this many keys are sorted by insertion sort (no comparator calls from C++). */
const INSERTION_SORT_MAX = 16;

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

/**
 * `s` as a Go JSON string literal, quotes included. The string form of `JsonWriter.str`, which the
 * serializer uses; kept as the readable reference the tests hold the writer to.
 */
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

/**
 * Sorts `keys` (distinct strings) into UTF-8 byte order, `values` along with them, in place.
 * Map keys are distinct, so any correct sort gives one order; insertion sort is the cheapest for
 * the handful of keys of a header map and lets compareUtf8 be inlined, and it costs a single
 * comparison per key when the map already is in order (as small maps often are).
 */
export function sortEntries(keys: string[], values: unknown[]): void {
  const n = keys.length;
  if (n > INSERTION_SORT_MAX) {
    const order = keys.map((_, i) => i).sort((a, b) => compareUtf8(keys[a]!, keys[b]!));
    const sortedKeys = order.map((i) => keys[i]!);
    const sortedValues = order.map((i) => values[i]!);
    for (let i = 0; i < n; i++) {
      keys[i] = sortedKeys[i]!;
      values[i] = sortedValues[i]!;
    }
    return;
  }
  for (let i = 1; i < n; i++) {
    const key = keys[i]!;
    if (compareUtf8(keys[i - 1]!, key) < 0) continue;
    const value = values[i]!;
    let j = i - 1;
    do {
      keys[j + 1] = keys[j]!;
      values[j + 1] = values[j]!;
      j--;
    } while (j >= 0 && compareUtf8(keys[j]!, key) > 0);
    keys[j + 1] = key;
    values[j + 1] = value;
  }
}

const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

// Each object's keys with their punctuation, encoded once (json-writer.ts `literal`).
const RECORD = literals({
  node: '{"node":',
  serviceAfterNode: ',"service":',
  service: '{"service":',
  labels: ',"labels":',
  network: ',"network":',
  remote: ',"remote":',
  local: ',"local":',
  client: ',"client":',
  src: ',"src":',
  dst: ',"dst":',
  host: ',"host":',
  proto: ',"proto":',
  clientIP: ',"clientIP":',
  clientID: ',"clientID":',
  http: ',"http":',
  websocket: ',"websocket":',
  tls: ',"tls":',
  dns: ',"dns":',
  route: ',"route":',
  inputBytes: ',"inputBytes":',
  outputBytes: ',"outputBytes":',
  redirect: ',"redirect":',
  err: ',"err":',
  sid: ',"sid":',
  duration: ',"duration":',
  time: ',"time":',
  flow: ',"flow":',
});
const HTTP = literals({
  host: '{"host":',
  method: ',"method":',
  proto: ',"proto":',
  scheme: ',"scheme":',
  uri: ',"uri":',
  cached: ',"cached":',
  statusCode: ',"statusCode":',
  request: ',"request":',
  response: ',"response":',
  contentLength: '{"contentLength":',
  header: ',"header":',
  body: ',"body":',
});
const WEBSOCKET = literals({
  from: '{"from":',
  fin: ',"fin":',
  rsv1: ',"rsv1":',
  rsv2: ',"rsv2":',
  rsv3: ',"rsv3":',
  opcode: ',"opcode":',
  masked: ',"masked":',
  maskKey: ',"maskKey":',
  length: ',"length":',
  payload: ',"payload":',
});
const TLS = literals({
  serverName: '{"serverName":',
  cipherSuite: ',"cipherSuite":',
  compressionMethod: ',"compressionMethod":',
  proto: ',"proto":',
  version: ',"version":',
  clientHello: ',"clientHello":',
  serverHello: ',"serverHello":',
  clientVersions: ',"clientVersions":',
  clientCiphers: ',"clientCiphers":',
  alpnOffered: ',"alpnOffered":',
  alpnSelected: ',"alpnSelected":',
  clientExtensions: ',"clientExtensions":',
  ja3: ',"ja3":',
  ja3Hash: ',"ja3Hash":',
  ja3s: ',"ja3s":',
  ja3sHash: ',"ja3sHash":',
  ja4: ',"ja4":',
  certificates: ',"certificates":',
});
const CERTIFICATE = literals({
  subject: '{"subject":',
  issuer: ',"issuer":',
  sans: ',"sans":',
  notBefore: ',"notBefore":',
  notAfter: ',"notAfter":',
  serial: ',"serial":',
  sha256: ',"sha256":',
});
const DNS = literals({
  id: '{"id":',
  name: ',"name":',
  class: ',"class":',
  type: ',"type":',
  question: ',"question":',
  answer: ',"answer":',
  cached: ',"cached":',
  rcode: ',"rcode":',
  answers: ',"answers":',
});
const DNS_ANSWER = literals({
  name: '{"name":',
  type: ',"type":',
  class: ',"class":',
  ttl: ',"ttl":',
  data: ',"data":',
});
const FLOW = literals({
  communityId: '{"communityId":',
  clientPackets: ',"clientPackets":',
  clientBytes: ',"clientBytes":',
  serverPackets: ',"serverPackets":',
  serverBytes: ',"serverBytes":',
  firstSeen: ',"firstSeen":',
  lastSeen: ',"lastSeen":',
  midstream: ',"midstream":',
  gaps: ',"gaps":',
  gapBytes: ',"gapBytes":',
  cutoff: ',"cutoff":',
  pcap: ',"pcap":',
});

function stringArray(w: JsonWriter, values: readonly string[]): void {
  w.char(OPEN_BRACKET);
  for (let i = 0; i < values.length; i++) {
    if (i !== 0) w.char(COMMA);
    w.str(values[i]!);
  }
  w.char(CLOSE_BRACKET);
}

function intArray(w: JsonWriter, values: readonly number[]): void {
  w.char(OPEN_BRACKET);
  for (let i = 0; i < values.length; i++) {
    if (i !== 0) w.char(COMMA);
    w.int(values[i]!);
  }
  w.char(CLOSE_BRACKET);
}

/** `labels`, a Go map of strings: keys sorted by UTF-8 bytes. */
function labelsObject(w: JsonWriter, map: ReadonlyMap<string, string>): void {
  // One pass over the map into arrays, sorted there: no second pass, no lookups by key.
  const keys: string[] = [];
  const values: string[] = [];
  for (const [k, v] of map) {
    keys.push(k);
    values.push(v);
  }
  sortEntries(keys, values);
  w.char(OPEN_BRACE);
  for (let i = 0; i < keys.length; i++) {
    if (i !== 0) w.char(COMMA);
    w.str(keys[i]!);
    w.char(COLON);
    w.str(values[i]!);
  }
  w.char(CLOSE_BRACE);
}

/** `,"key":"value"`, or nothing when the value is empty (a string `omitempty` field). */
function optString(w: JsonWriter, key: Literal, value: string | undefined): void {
  if (!value) return;
  w.lit(key);
  w.str(value);
}

/** `,"key":[…]`, or nothing for an empty list (an extension key written only when non-empty). */
function optList<T>(
  w: JsonWriter,
  key: Literal,
  values: readonly T[],
  write: (w: JsonWriter, v: readonly T[]) => void,
): void {
  if (values.length === 0) return;
  w.lit(key);
  write(w, values);
}

/**
 * `"Name":` of header names seen recently, encoded (the same few dozen canonical names recur in
 * every record). Bounded: emptied when full, so endless new names cost an encoding each, not memory.
 */
const headerNameCache = new Map<string, Literal | null>();
const HEADER_NAME_CACHE_MAX = 512;

/** `"Name":` for a header name; null when it is not ASCII (then written the general way). */
function headerNameLiteral(name: string): Literal | null {
  let lit = headerNameCache.get(name);
  if (lit === undefined) {
    const text = quoteJsonString(name) + ':';
    lit = PRINTABLE_ASCII.test(text) ? literal(text) : null;
    if (headerNameCache.size >= HEADER_NAME_CACHE_MAX) headerNameCache.clear();
    headerNameCache.set(name, lit);
  }
  return lit;
}

/** A header map as JSON (a Go map: names sorted by UTF-8 bytes), `null` for none. */
function header(w: JsonWriter, h: HeaderMap | null): void {
  if (h === null) {
    w.null();
    return;
  }
  // As labelsObject, with each name written from the cache.
  const names: string[] = [];
  const values: string[][] = [];
  for (const [name, v] of h) {
    names.push(name);
    values.push(v);
  }
  sortEntries(names, values);
  w.char(OPEN_BRACE);
  for (let i = 0; i < names.length; i++) {
    if (i !== 0) w.char(COMMA);
    const name = names[i]!;
    const lit = headerNameLiteral(name);
    if (lit === null) {
      w.str(name);
      w.char(COLON);
    } else {
      w.lit(lit);
    }
    stringArray(w, values[i]!);
  }
  w.char(CLOSE_BRACE);
}

function httpMessage(w: JsonWriter, m: HttpMessageRecord): void {
  w.lit(HTTP.contentLength);
  w.int(m.contentLength);
  w.lit(HTTP.header);
  header(w, m.header);
  w.lit(HTTP.body);
  w.bytes(m.body);
  w.char(CLOSE_BRACE);
}

function http(w: JsonWriter, h: HttpRecord): void {
  w.lit(HTTP.host);
  w.str(h.host);
  w.lit(HTTP.method);
  w.str(h.method);
  w.lit(HTTP.proto);
  w.str(h.proto);
  w.lit(HTTP.scheme);
  w.str(h.scheme);
  w.lit(HTTP.uri);
  w.str(h.uri);
  w.lit(HTTP.cached);
  w.bool(h.cached);
  w.lit(HTTP.statusCode);
  w.int(h.statusCode);
  w.lit(HTTP.request);
  httpMessage(w, h.request);
  w.lit(HTTP.response);
  httpMessage(w, h.response);
  w.char(CLOSE_BRACE);
}

function websocket(w: JsonWriter, ws: WebSocketRecord): void {
  w.lit(WEBSOCKET.from);
  w.str(ws.from);
  w.lit(WEBSOCKET.fin);
  w.bool(ws.fin);
  w.lit(WEBSOCKET.rsv1);
  w.bool(ws.rsv1);
  w.lit(WEBSOCKET.rsv2);
  w.bool(ws.rsv2);
  w.lit(WEBSOCKET.rsv3);
  w.bool(ws.rsv3);
  w.lit(WEBSOCKET.opcode);
  w.int(ws.opcode);
  w.lit(WEBSOCKET.masked);
  w.bool(ws.masked);
  w.lit(WEBSOCKET.maskKey);
  w.int(ws.maskKey);
  w.lit(WEBSOCKET.length);
  w.int(ws.length);
  w.lit(WEBSOCKET.payload);
  w.bytes(ws.payload);
  w.char(CLOSE_BRACE);
}

function certificate(w: JsonWriter, c: CertificateRecord): void {
  w.lit(CERTIFICATE.subject);
  w.str(c.subject);
  w.lit(CERTIFICATE.issuer);
  w.str(c.issuer);
  w.lit(CERTIFICATE.sans);
  stringArray(w, c.sans);
  w.lit(CERTIFICATE.notBefore);
  w.str(c.notBefore);
  w.lit(CERTIFICATE.notAfter);
  w.str(c.notAfter);
  w.lit(CERTIFICATE.serial);
  w.str(c.serial);
  w.lit(CERTIFICATE.sha256);
  w.str(c.sha256);
  w.char(CLOSE_BRACE);
}

/** A JSON array of objects, each written by `one`. */
function objectArray<T>(
  w: JsonWriter,
  list: readonly T[],
  one: (w: JsonWriter, item: T) => void,
): void {
  w.char(OPEN_BRACKET);
  for (let i = 0; i < list.length; i++) {
    if (i !== 0) w.char(COMMA);
    one(w, list[i]!);
  }
  w.char(CLOSE_BRACKET);
}

function certificates(w: JsonWriter, list: readonly CertificateRecord[]): void {
  objectArray(w, list, certificate);
}

function tls(w: JsonWriter, t: TlsRecord): void {
  w.lit(TLS.serverName);
  w.str(t.serverName);
  w.lit(TLS.cipherSuite);
  w.str(t.cipherSuite);
  w.lit(TLS.compressionMethod);
  w.int(t.compressionMethod);
  w.lit(TLS.proto);
  w.str(t.proto);
  w.lit(TLS.version);
  w.str(t.version);
  w.lit(TLS.clientHello);
  w.str(t.clientHello);
  w.lit(TLS.serverHello);
  w.str(t.serverHello);
  optList(w, TLS.clientVersions, t.clientVersions, stringArray);
  optList(w, TLS.clientCiphers, t.clientCiphers, stringArray);
  optList(w, TLS.alpnOffered, t.alpnOffered, stringArray);
  optString(w, TLS.alpnSelected, t.alpnSelected);
  optList(w, TLS.clientExtensions, t.clientExtensions, intArray);
  optString(w, TLS.ja3, t.ja3);
  optString(w, TLS.ja3Hash, t.ja3Hash);
  optString(w, TLS.ja3s, t.ja3s);
  optString(w, TLS.ja3sHash, t.ja3sHash);
  optString(w, TLS.ja4, t.ja4);
  optList(w, TLS.certificates, t.certificates, certificates);
  w.char(CLOSE_BRACE);
}

function dnsAnswer(w: JsonWriter, a: DnsAnswerRecord): void {
  w.lit(DNS_ANSWER.name);
  w.str(a.name);
  w.lit(DNS_ANSWER.type);
  w.str(a.type);
  w.lit(DNS_ANSWER.class);
  w.str(a.class);
  w.lit(DNS_ANSWER.ttl);
  w.int(a.ttl);
  w.lit(DNS_ANSWER.data);
  w.str(a.data);
  w.char(CLOSE_BRACE);
}

function dnsAnswers(w: JsonWriter, list: readonly DnsAnswerRecord[]): void {
  objectArray(w, list, dnsAnswer);
}

function dns(w: JsonWriter, d: DnsRecord): void {
  w.lit(DNS.id);
  w.int(d.id);
  w.lit(DNS.name);
  w.str(d.name);
  w.lit(DNS.class);
  w.str(d.class);
  w.lit(DNS.type);
  w.str(d.type);
  w.lit(DNS.question);
  w.str(d.question);
  w.lit(DNS.answer);
  w.str(d.answer);
  w.lit(DNS.cached);
  w.bool(d.cached);
  optString(w, DNS.rcode, d.rcode);
  optList(w, DNS.answers, d.answers, dnsAnswers);
  w.char(CLOSE_BRACE);
}

function flow(w: JsonWriter, f: FlowExtension, offsetMinutes: number | undefined): void {
  w.lit(FLOW.communityId);
  w.str(f.communityId);
  w.lit(FLOW.clientPackets);
  w.int(f.clientPackets);
  w.lit(FLOW.clientBytes);
  w.int(f.clientBytes);
  w.lit(FLOW.serverPackets);
  w.int(f.serverPackets);
  w.lit(FLOW.serverBytes);
  w.int(f.serverBytes);
  w.lit(FLOW.firstSeen);
  w.time(f.firstSeen, offsetMinutes);
  w.lit(FLOW.lastSeen);
  w.time(f.lastSeen, offsetMinutes);
  w.lit(FLOW.midstream);
  w.bool(f.midstream);
  w.lit(FLOW.gaps);
  w.int(f.gaps);
  w.lit(FLOW.gapBytes);
  w.int(f.gapBytes);
  w.lit(FLOW.cutoff);
  w.bool(f.cutoff);
  w.lit(FLOW.pcap);
  stringArray(w, f.pcap);
  w.char(CLOSE_BRACE);
}

/**
 * Appends one record as a JSON line (no trailing newline) to `w`, in GOST's key order with
 * tapgate's `flow` after `time`; `offsetMinutes` as in SerializeOptions. Throws RangeError when an
 * integer field holds a non-integer, after part of the record was written: the caller moves
 * `w.pos` back.
 */
export function writeRecord(
  w: JsonWriter,
  rec: GostRecord,
  offsetMinutes: number | undefined,
): void {
  if (rec.node) {
    w.lit(RECORD.node);
    w.str(rec.node);
    w.lit(RECORD.serviceAfterNode);
  } else {
    w.lit(RECORD.service);
  }
  w.str(rec.service);
  if (rec.labels && rec.labels.size > 0) {
    w.lit(RECORD.labels);
    labelsObject(w, rec.labels);
  }
  w.lit(RECORD.network);
  w.str(rec.network);
  w.lit(RECORD.remote);
  w.str(rec.remote);
  w.lit(RECORD.local);
  w.str(rec.local);
  w.lit(RECORD.client);
  w.str(rec.client);
  w.lit(RECORD.src);
  w.str(rec.src);
  w.lit(RECORD.dst);
  w.str(rec.dst);
  w.lit(RECORD.host);
  w.str(rec.host);
  optString(w, RECORD.proto, rec.proto);
  w.lit(RECORD.clientIP);
  w.str(rec.clientIP);
  optString(w, RECORD.clientID, rec.clientID);
  if (rec.http) {
    w.lit(RECORD.http);
    http(w, rec.http);
  }
  if (rec.websocket) {
    w.lit(RECORD.websocket);
    websocket(w, rec.websocket);
  }
  if (rec.tls) {
    w.lit(RECORD.tls);
    tls(w, rec.tls);
  }
  if (rec.dns) {
    w.lit(RECORD.dns);
    dns(w, rec.dns);
  }
  optString(w, RECORD.route, rec.route);
  w.lit(RECORD.inputBytes);
  w.int(rec.inputBytes);
  w.lit(RECORD.outputBytes);
  w.int(rec.outputBytes);
  optString(w, RECORD.redirect, rec.redirect);
  optString(w, RECORD.err, rec.err);
  w.lit(RECORD.sid);
  w.str(rec.sid);
  w.lit(RECORD.duration);
  if (typeof rec.duration === 'bigint') w.ascii(rec.duration.toString());
  else w.int(rec.duration);
  w.lit(RECORD.time);
  w.time(rec.time, offsetMinutes);
  if (rec.flow) {
    w.lit(RECORD.flow);
    flow(w, rec.flow, offsetMinutes);
  }
  w.char(CLOSE_BRACE);
}

/** serializeRecord's buffer; one grown past SCRATCH_KEEP by a huge record is let go. */
const SCRATCH_SIZE = 16 * 1024;
const SCRATCH_KEEP = 1024 * 1024;
let scratch = new JsonWriter(SCRATCH_SIZE);

/**
 * One record as a JSON line (no trailing newline), in GOST's key order with tapgate's `flow` after
 * `time`. Throws RangeError when an integer field holds a non-integer.
 */
export function serializeRecord(rec: GostRecord, options?: SerializeOptions): string {
  if (scratch.capacity > SCRATCH_KEEP) scratch = new JsonWriter(SCRATCH_SIZE);
  scratch.pos = 0;
  writeRecord(scratch, rec, options?.offsetMinutes);
  return scratch.text();
}
