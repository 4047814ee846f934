/**
 * Record shapes, field for field as GOST v3 emits them (../shared/reference/gost-compat.md §1), plus
 * tapgate's extensions. Sniffers fill a `RecordUnit`; the record builder adds the connection fields
 * (service, addresses, sid, flow extensions) and the serializer writes GOST's key order and encoding.
 *
 * Conventions:
 * - Byte fields are Buffers (serialized as padded base64); `null` when nothing was captured.
 * - Header maps keep canonical keys (see header-map.ts) in arrival order; the serializer sorts them.
 * - Strings decoded from the wire use UTF-8 with U+FFFD for invalid bytes, as Go's encoder does.
 */
import type { Timestamp } from '../sniff/sniffer.ts';

/** Canonical header key → values, one per header line, in arrival order. */
export type HeaderMap = Map<string, string[]>;

export interface HttpMessageRecord {
  /** Header value; -1 when unknown/chunked. With body capture on: the real de-chunked byte count. */
  contentLength: number;
  /** `null` when no message was parsed (no response); `{}` (empty map) when it had no header lines. */
  header: HeaderMap | null;
  /** First `httpMaxBodySize` bytes as transferred (de-chunked, not decompressed); null when off/empty. */
  body: Buffer | null;
}

export interface HttpRecord {
  /** Request Host as sent (h2: `:authority`). */
  host: string;
  method: string;
  /** `HTTP/1.0`, `HTTP/1.1`, `HTTP/2.0`. */
  proto: string;
  /** '' for origin-form; `http` for absolute-form; h2: the `:scheme` pseudo-header. */
  scheme: string;
  /** Request-target exactly as received. */
  uri: string;
  cached: boolean;
  /** Final status (1xx skipped); 0 without a response. */
  statusCode: number;
  request: HttpMessageRecord;
  response: HttpMessageRecord;
}

export interface WebSocketRecord {
  from: 'client' | 'server';
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** Mask bytes read as a little-endian uint32 (GOST); 0 when unmasked. */
  maskKey: number;
  /** Payload length from the header. */
  length: number;
  /** First N payload bytes as on the wire (still masked); null when body capture is off. */
  payload: Buffer | null;
}

/** One X.509 certificate of the server chain (TLS ≤ 1.2, where it travels in the clear). */
export interface CertificateRecord {
  subject: string;
  issuer: string;
  /** DNS names and IP addresses from subjectAltName. */
  sans: string[];
  notBefore: string;
  notAfter: string;
  serial: string;
  /** Lowercase hex SHA-256 of the DER bytes. */
  sha256: string;
}

export interface TlsRecord {
  // GOST's keys, in GOST's order; all always present.
  serverName: string;
  /** IANA/Go name; unknown ids as a decimal string; '' when no ServerHello was seen. */
  cipherSuite: string;
  compressionMethod: number;
  /** ALPN: the client's first offer, replaced by the server's selection when present. */
  proto: string;
  /** `sslv3`, `tls1.0` … `tls1.3`, else decimal; '' when no ServerHello was seen. */
  version: string;
  /** Lowercase hex of the whole first client record, 5-byte header included. */
  clientHello: string;
  /** Lowercase hex of the first server record; '' when none. */
  serverHello: string;
  // tapgate extensions (after GOST's keys).
  /** Versions the client offered (supported_versions, else legacy_version), as names. */
  clientVersions: string[];
  /** Cipher suites the client offered, as names, GREASE removed. */
  clientCiphers: string[];
  /** ALPN protocols the client offered. */
  alpnOffered: string[];
  /** ALPN protocol the server selected ('' when none or not visible). */
  alpnSelected: string;
  /** Extension type numbers of the ClientHello in wire order (GREASE included, as sent). */
  clientExtensions: number[];
  ja3: string;
  ja3Hash: string;
  ja3s: string;
  ja3sHash: string;
  ja4: string;
  /** Server chain, leaf first; empty for TLS 1.3 (encrypted) or when not captured. */
  certificates: CertificateRecord[];
}

/** One resource record, structured (tapgate extension). */
export interface DnsAnswerRecord {
  name: string;
  type: string;
  class: string;
  ttl: number;
  /** Presentation form of the RDATA (as dig prints it). */
  data: string;
}

export interface DnsRecord {
  // GOST's keys.
  id: number;
  name: string;
  class: string;
  type: string;
  /** dig-style text dump of the query (miekg/dns Msg.String()). */
  question: string;
  /** Same dump of the response; '' when none was seen. */
  answer: string;
  cached: boolean;
  // tapgate extensions.
  /** Response code mnemonic (`NOERROR`, `NXDOMAIN`, …); '' when no response. */
  rcode: string;
  answers: DnsAnswerRecord[];
}

/** What a sniffer emits for one unit; the builder adds the connection's fields. */
export interface RecordUnit {
  /** `http`, `tls`, `dns`, `quic`; '' for a plain connection record. */
  proto: string;
  /**
   * `unit`: the counters and times below are the unit's own (an HTTP exchange, a DNS query, a
   * WebSocket frame). `connection`: the unit stands for the whole connection (TLS pass-through,
   * unknown protocol); the builder fills inputBytes/outputBytes/start/end from the flow's totals
   * and lifetime, and the sniffer's values are ignored.
   */
  scope: 'unit' | 'connection';
  /** Target `host:port` as GOST fills it (Host + `:80`, SNI + `:443`, …); '' → server address. */
  host: string;
  /** From `CF-Connecting-IP` / `X-Forwarded-For` / `X-Real-Ip`; '' → the client's address. */
  clientIP: string;
  http?: HttpRecord;
  websocket?: WebSocketRecord;
  tls?: TlsRecord;
  dns?: DnsRecord;
  /** Bytes from the client side and to the client side for this unit. */
  inputBytes: number;
  outputBytes: number;
  /** Start of the unit and its end (duration = end − start). */
  start: Timestamp;
  end: Timestamp;
  /** Error text of a failed unit ('' when none). */
  err: string;
}

/** tapgate's per-flow extension, written after GOST's `time` key as `"flow": {…}`. */
export interface FlowExtension {
  /** Community ID v1 (https://github.com/corelight/community-id-spec), `1:<base64>`. */
  communityId: string;
  /** Packets and transport payload bytes sent by the client and by the server. */
  clientPackets: number;
  clientBytes: number;
  serverPackets: number;
  serverBytes: number;
  firstSeen: Timestamp;
  lastSeen: Timestamp;
  /** The capture started after the connection did (no SYN seen from the client). */
  midstream: boolean;
  /** Holes in the reassembled streams (count and bytes, both sides). */
  gaps: number;
  gapBytes: number;
  /** The flow went past its pcap cutoff: the pcap holds only its first bytes. */
  cutoff: boolean;
  /**
   * pcap files (paths relative to the output root) covering the flow's time span, oldest first:
   * where its packets are, as far as the cutoff let them be written. Empty without pcap output.
   */
  pcap: string[];
}

/**
 * A complete record in GOST's field order (gost-compat.md §1.1). Optional fields are omitted when
 * absent (GOST's `omitempty`); the others are always written.
 */
export interface GostRecord {
  node?: string;
  service: string;
  labels?: Map<string, string>;
  network: string;
  remote: string;
  local: string;
  client: string;
  src: string;
  dst: string;
  host: string;
  proto?: string;
  clientIP: string;
  clientID?: string;
  http?: HttpRecord;
  websocket?: WebSocketRecord;
  tls?: TlsRecord;
  dns?: DnsRecord;
  route?: string;
  inputBytes: number;
  outputBytes: number;
  redirect?: string;
  err?: string;
  /** 20-character rs/xid id. */
  sid: string;
  /** Nanoseconds (a bigint past 2^53 ns). */
  duration: number | bigint;
  /** Start of the unit; serialized as RFC 3339 with nanoseconds in the local zone. */
  time: Timestamp;
  // tapgate extensions.
  flow?: FlowExtension;
}
