/**
 * The contract between reassembly (or a gateway relay) and the protocol sniffers.
 *
 * Modelled on Zeek's analyzer interface: a stream sniffer receives each side's bytes in order,
 * is told about holes it will never see, and about each side's end. It does not know where the
 * bytes come from (a capture, a proxy relay): everything it needs is in the `SniffContext`.
 *
 *   reassembly ─► data(side, bytes) / gap(side, n) / end(side) ─► sniffer ─► ctx.emit(RecordUnit)
 *                 ◄── wants(side) === false: stop buffering and delivering that side
 *
 * Borrowing rule: `data` passed to `data()` / `datagram()` is valid only during the call (it may
 * alias a capture ring). Copy what you keep.
 */
import type { HeaderMap, RecordUnit } from '../record/record-types.ts';

/** Which end of a connection sent the bytes. The client is the connection's initiator. */
export const Side = { Client: 0, Server: 1 } as const;
export type Side = (typeof Side)[keyof typeof Side];

/** A point in time with nanosecond precision (seconds since the Unix epoch + nanoseconds). */
export interface Timestamp {
  readonly sec: number;
  readonly nsec: number;
}

/** Nanoseconds from `a` to `b` (exact while below 2^53 ns, about 104 days). */
export function nsBetween(a: Timestamp, b: Timestamp): number {
  return (b.sec - a.sec) * 1e9 + (b.nsec - a.nsec);
}

/** `now()` may hand out an object the caller reuses: keep a copy. */
export function copyTime(t: Timestamp): Timestamp {
  return { sec: t.sec, nsec: t.nsec };
}

export interface StreamSniffer {
  /** In-order bytes from `side`. Borrowed: valid during the call only. */
  data(side: Side, data: Buffer): void;
  /** `bytes` bytes of `side` are missing and will never be delivered (lost, or cut by snaplen). */
  gap(side: Side, bytes: number): void;
  /**
   * `side` finished (FIN, RST, idle expiry, end of input). Called exactly once per side, also after
   * `wants(side)` went false; after both ends the sniffer emits whatever it still holds.
   */
  end(side: Side): void;
  /** False once the sniffer needs no more bytes from `side`; it stays false from then on. */
  wants(side: Side): boolean;
}

export interface DatagramSniffer {
  /** One UDP payload from `side`. Borrowed: valid during the call only. */
  datagram(side: Side, data: Buffer): void;
  /** The flow ended: emit what is still pending (queries without responses). */
  end(): void;
}

/** Sniffer settings (YAML `sniffing.*` / `http.*`; CLI mirrors). */
export interface SniffConfig {
  /** Capture HTTP bodies and WebSocket payloads (`http.body`). */
  httpBody: boolean;
  /** Bytes kept per body / per WebSocket frame (`http.maxBodySize`, 64 KiB default, capped at 1 MiB). */
  httpMaxBodySize: number;
  /** Emit one record per sampled WebSocket frame (`sniffing.websocket`). */
  websocketFrames: boolean;
  /** Frames per second and direction (token bucket, burst floor(rate)); < 0 = every frame. */
  websocketSampleRate: number;
  /** Ports where UDP payloads and TCP streams are tried as DNS (it has no magic bytes). */
  dnsPorts: readonly number[];
}

export const defaultSniffConfig: SniffConfig = {
  httpBody: false,
  httpMaxBodySize: 64 * 1024,
  websocketFrames: true,
  websocketSampleRate: 10,
  dnsPorts: [53, 5353, 5355],
};

/** The hard cap GOST applies to `http.maxBodySize`. */
export const MAX_BODY_SIZE_CAP = 1024 * 1024;

/** Addresses of the connection being sniffed. */
export interface ConnectionEndpoints {
  network: 'tcp' | 'udp';
  clientIp: string;
  clientPort: number;
  serverIp: string;
  serverPort: number;
}

/** What a sniffer may ask of its surroundings. */
export interface SniffContext {
  readonly config: SniffConfig;
  readonly endpoints: ConnectionEndpoints;
  /** Time of the packet (or relay read) whose bytes are being delivered right now. */
  now(): Timestamp;
  /** Hands a finished unit (one HTTP exchange, one TLS handshake, one DNS query, …) to the recorder. */
  emit(unit: RecordUnit): void;
  /**
   * Counts a parse error. `proto` is the sniffer's name (`http`, `http2`, `tls`, `websocket`, `dns`,
   * `quic`); `code` is a stable snake_case cause (`bad_chunk_size`, `hpack_error`, …).
   */
  parseError(proto: string, code: string): void;
}

/**
 * An HTTP/1.1 request that asked for `Upgrade: h2c` and got `101 Switching Protocols`
 * (RFC 7540 §3.2). It becomes HTTP/2 stream 1; the client then sends the connection preface and the
 * server its SETTINGS. The HTTP/1 sniffer hands over the bytes that follow the request (client) and
 * the 101 response (server).
 */
export interface H2cUpgrade {
  method: string;
  uri: string;
  /** Host header as sent. */
  host: string;
  header: HeaderMap;
  /** Request body as captured (an upgrade request may carry one), null when none/off. */
  body: Buffer | null;
  contentLength: number;
  start: Timestamp;
  /** Bytes of the HTTP/1 request (head + body) and of the 101 response. */
  inputBytes: number;
  outputBytes: number;
}

/** Builds the sniffers a sniffer hands a connection over to (HTTP/1 → HTTP/2 or a CONNECT tunnel). */
export interface SnifferFactories {
  /** HTTP/2 after an h2c upgrade (`upgrade` set) or prior knowledge (`upgrade` null). */
  http2(ctx: SniffContext, upgrade: H2cUpgrade | null): StreamSniffer;
  /** The inside of a CONNECT tunnel (content detection again, usually TLS). */
  tunnel(ctx: SniffContext): StreamSniffer;
}
