/**
 * Content-based protocol detection for a TCP connection: the first sniffer every stream meets.
 *
 * It holds copies of the first bytes of each side until they name a protocol, then builds that
 * protocol's sniffer and replays the held bytes to it in arrival order; from then on it forwards
 * everything. Ports are only hints (DNS over TCP has no magic bytes).
 *
 *   client starts with the HTTP/2 preface ........... HTTP/2 (prior knowledge)
 *   client starts with a TLS handshake record ....... TLS
 *   client starts with `METHOD SP` ending in HTTP/x . HTTP/1 (well-known methods decide at once)
 *   server starts with `HTTP/1.` .................... HTTP/1 (capture began mid-connection)
 *   a DNS port and a plausible length-prefixed message  DNS over TCP (ports: sniffing.dnsPorts)
 *   anything else, or nothing decided in 8 KiB ...... unknown: stop (a connection record remains)
 */
import { DnsStreamSniffer, looksLikeDnsMessage } from './dns/dns-sniffer.ts';
import { Http1Sniffer } from './http1/http1-sniffer.ts';
import { createHttp2Sniffer, HTTP2_PREFACE } from './http2/http2-sniffer.ts';
import { Side, type SniffContext, type SnifferFactories, type StreamSniffer } from './sniffer.ts';
import { looksLikeTlsClientHello } from './tls/tls-detect.ts';
import { TlsSniffer } from './tls/tls-sniffer.ts';

/** Bytes held per connection while undecided. */
const MAX_HELD_BYTES = 8 * 1024;

const KNOWN_METHODS = new Set([
  'GET',
  'POST',
  'HEAD',
  'PUT',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
  'PATCH',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
]);

const Verdict = {
  /** Need more bytes. */
  Undecided: 0,
  Http1: 1,
  Http2: 2,
  Tls: 3,
  Dns: 4,
  Unknown: 5,
} as const;
type Verdict = (typeof Verdict)[keyof typeof Verdict];

const ASCII_SPACE = 0x20;
const ASCII_CR = 0x0d;
const ASCII_LF = 0x0a;
const MAX_METHOD_LENGTH = 24;

/** The HTTP/1 request line test on the bytes held so far. */
function http1Request(held: Buffer): Verdict {
  let i = 0;
  for (; i < held.length && i <= MAX_METHOD_LENGTH; i++) {
    const c = held[i]!;
    if (c === ASCII_SPACE || c === ASCII_CR || c === ASCII_LF) break;
    // Methods are tokens; in practice upper-case letters, digits, '-' and '_'.
    const upper = c >= 0x41 && c <= 0x5a;
    if (!upper && c !== 0x2d && c !== 0x5f && !(c >= 0x30 && c <= 0x39)) return Verdict.Unknown;
  }
  if (i === held.length)
    return held.length > MAX_METHOD_LENGTH ? Verdict.Unknown : Verdict.Undecided;
  if (i === 0 || i > MAX_METHOD_LENGTH) return Verdict.Unknown;
  const known = KNOWN_METHODS.has(held.toString('latin1', 0, i));
  // A well-known method decides at once, even on a broken line (`OPTIONS\r\n`): servers answer
  // those with 400, and the exchange is worth a record.
  if (known) return Verdict.Http1;
  if (held[i] !== ASCII_SPACE) return Verdict.Unknown;
  // An unusual method: accept it when the request line names an HTTP version, however mangled
  // (`CCM_POST /HTTP/1.1`, `X / HTTP/1.`).
  const eol = held.indexOf(ASCII_LF, i);
  if (eol < 0) return held.length >= MAX_HELD_BYTES ? Verdict.Unknown : Verdict.Undecided;
  const line = held.toString('latin1', i, eol).trimEnd();
  return line.includes('HTTP/') ? Verdict.Http1 : Verdict.Unknown;
}

function startsWith(held: Buffer, prefix: Buffer): Verdict {
  const n = Math.min(held.length, prefix.length);
  if (held.compare(prefix, 0, n, 0, n) !== 0) return Verdict.Unknown;
  return n === prefix.length ? Verdict.Http2 : Verdict.Undecided;
}

const HTTP1_RESPONSE = Buffer.from('HTTP/1.', 'latin1');

export class ProtocolDetector implements StreamSniffer {
  readonly #ctx: SniffContext;
  readonly #factories: SnifferFactories;
  /** Copies of what arrived while undecided, in arrival order. */
  #held: { side: Side; data: Buffer }[] = [];
  #heldBytes = 0;
  #target: StreamSniffer | null = null;
  #gaveUp = false;
  /** Sides that ended while undecided. */
  readonly #ended = [false, false];

  constructor(ctx: SniffContext, factories: SnifferFactories) {
    this.#ctx = ctx;
    this.#factories = factories;
  }

  /** The protocol chosen, for the connection record of an undecided stream. */
  get decided(): boolean {
    return this.#target !== null;
  }

  data(side: Side, data: Buffer): void {
    if (this.#target) {
      this.#target.data(side, data);
      return;
    }
    if (this.#gaveUp) return;
    this.#held.push({ side, data: Buffer.from(data) });
    this.#heldBytes += data.length;
    const verdict = this.#classify();
    if (verdict === Verdict.Undecided) {
      if (this.#heldBytes >= MAX_HELD_BYTES) this.#giveUp();
      return;
    }
    if (verdict === Verdict.Unknown) {
      this.#giveUp();
      return;
    }
    this.#handOver(this.#build(verdict));
  }

  gap(side: Side, bytes: number): void {
    if (this.#target) this.#target.gap(side, bytes);
    // Undecided: a hole before anything recognisable leaves nothing to recognise on.
    else if (!this.#gaveUp && this.#heldBytes === 0) return;
    else this.#giveUp();
  }

  end(side: Side): void {
    if (this.#target) this.#target.end(side);
    else this.#ended[side] = true;
  }

  wants(side: Side): boolean {
    if (this.#target) return this.#target.wants(side);
    return !this.#gaveUp;
  }

  #classify(): Verdict {
    const client = this.#joined(Side.Client);
    const server = this.#joined(Side.Server);
    if (client.length > 0) {
      const first = client[0]!;
      if (first === HTTP2_PREFACE[0]) {
        const v = startsWith(client, HTTP2_PREFACE);
        if (v !== Verdict.Unknown) return v;
      }
      if (first === 0x16) {
        if (client.length < 3) return Verdict.Undecided;
        if (looksLikeTlsClientHello(client)) return Verdict.Tls;
      }
      const dns = this.#dns(client);
      if (dns !== Verdict.Unknown) return dns;
      return http1Request(client);
    }
    if (server.length > 0) {
      const n = Math.min(server.length, HTTP1_RESPONSE.length);
      if (server.compare(HTTP1_RESPONSE, 0, n, 0, n) === 0) {
        return n === HTTP1_RESPONSE.length ? Verdict.Http1 : Verdict.Undecided;
      }
      const dns = this.#dns(server);
      if (dns !== Verdict.Unknown) return dns;
      // A server that speaks first (SMTP, SSH, …): wait for the client's bytes to decide.
      return Verdict.Undecided;
    }
    return Verdict.Undecided;
  }

  #dns(bytes: Buffer): Verdict {
    const ep = this.#ctx.endpoints;
    const ports = this.#ctx.config.dnsPorts;
    if (!ports.includes(ep.serverPort) && !ports.includes(ep.clientPort)) return Verdict.Unknown;
    if (bytes.length < 2 + 12) return Verdict.Undecided;
    const len = bytes.readUInt16BE(0);
    const msg = bytes.subarray(2, 2 + len);
    if (msg.length < len)
      return bytes.length >= MAX_HELD_BYTES ? Verdict.Unknown : Verdict.Undecided;
    return looksLikeDnsMessage(msg) ? Verdict.Dns : Verdict.Unknown;
  }

  #joined(side: Side): Buffer {
    const parts: Buffer[] = [];
    for (const h of this.#held) if (h.side === side) parts.push(h.data);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #build(verdict: Verdict): StreamSniffer {
    const ctx = this.#ctx;
    switch (verdict) {
      case Verdict.Http2:
        return this.#factories.http2(ctx, null);
      case Verdict.Tls:
        return new TlsSniffer(ctx);
      case Verdict.Dns:
        return new DnsStreamSniffer(ctx);
      default:
        return new Http1Sniffer(ctx, this.#factories);
    }
  }

  #handOver(target: StreamSniffer): void {
    this.#target = target;
    const held = this.#held;
    this.#held = [];
    this.#heldBytes = 0;
    for (const h of held) if (target.wants(h.side)) target.data(h.side, h.data);
    if (this.#ended[Side.Client]) target.end(Side.Client);
    if (this.#ended[Side.Server]) target.end(Side.Server);
  }

  #giveUp(): void {
    this.#gaveUp = true;
    this.#held = [];
    this.#heldBytes = 0;
  }
}

/** The factories every detected sniffer gets: HTTP/2 after h2c, detection again inside CONNECT. */
export const snifferFactories: SnifferFactories = {
  http2: createHttp2Sniffer,
  tunnel: (ctx) => new ProtocolDetector(ctx, snifferFactories),
};
