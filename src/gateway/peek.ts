/**
 * The peek at a client's first bytes (gost-compat.md §2.2): what protocol it speaks and which host
 * it names, before the gateway decides where to dial, whether the bypass lets it through, and
 * whether TLS is intercepted. The bytes are kept and relayed afterwards, never lost.
 *
 *   ┌─ 16 03 0x … ─► TLS: read records until the whole ClientHello is in (it may span records,
 *   │                §6 #4) ─► serverName, ALPN
 *   ├─ METHOD SP … ─► HTTP/1 request head (≤ 64 KiB) ─► Host;  `PRI *` ─► HTTP/2 prior knowledge
 *   ├─ SSH- ───────► ssh (recorded as `proto` only)
 *   ├─ anything else ─► other
 *   └─ nothing within `timeoutMs` ─► silent: relay raw (a server that speaks first must not hang,
 *                                   §6 #8); the client closing first ─► closed
 *
 * The TLS and HTTP/1 parsing reuses the sniffers' own readers (record layer, handshake reassembly,
 * ClientHello, HTTP/1 message parser); they see the bytes again once the relay tees them.
 */
import type { Socket } from 'node:net';
import { defaultSniffConfig, type SniffContext } from '../sniff/sniffer.ts';
import { BodyKind } from '../sniff/http1/http1-framing.ts';
import { MAX_HEADER_BYTES } from '../sniff/http1/http1-limits.ts';
import {
  After,
  MessageKind,
  MessageParser,
  type MessageHead,
} from '../sniff/http1/http1-message-parser.ts';
import { parseClientHello, type ClientHello } from '../sniff/tls/client-hello.ts';
import { HandshakeReader } from '../sniff/tls/handshake-reader.ts';
import { looksLikeTlsClientHello } from '../sniff/tls/tls-detect.ts';
import { ContentType, HandshakeType } from '../sniff/tls/tls-protocol.ts';
import { TlsRecordReader } from '../sniff/tls/tls-record-reader.ts';

export type PeekKind = 'tls' | 'http' | 'http2' | 'ssh' | 'other' | 'silent' | 'closed';

export interface Peek {
  kind: PeekKind;
  /** Everything read from the client while peeking, to be relayed first. */
  bytes: Buffer;
  /** TLS: the parsed ClientHello (null when incomplete or malformed). */
  clientHello: ClientHello | null;
  /** TLS SNI or the HTTP Host header as sent ('' when none). */
  name: string;
}

/** Most bytes held while peeking: a ClientHello with post-quantum shares is ~2 KiB. */
export const MAX_PEEK_BYTES = MAX_HEADER_BYTES;
const SSH_PREFIX = Buffer.from('SSH-', 'latin1');

/** A context for the peek's parsers: they are re-run by the real sniffers, which count errors. */
const quietContext: SniffContext = {
  config: defaultSniffConfig,
  endpoints: { network: 'tcp', clientIp: '', clientPort: 0, serverIp: '', serverPort: 0 },
  now: () => ({ sec: 0, nsec: 0 }),
  emit: () => undefined,
  parseError: () => undefined,
};

/** Incremental classification of the client's first bytes. */
export class FirstBytes {
  #bytes: Buffer[] = [];
  #size = 0;
  #kind: PeekKind | null = null;
  #clientHello: ClientHello | null = null;
  #name = '';
  // TLS
  #records: TlsRecordReader | null = null;
  #handshake: HandshakeReader | null = null;
  // HTTP/1
  #http: MessageParser | null = null;
  #head: MessageHead | null = null;
  #httpFailed = false;

  /** The verdict, or null while more bytes are needed. */
  get kind(): PeekKind | null {
    return this.#kind;
  }

  get size(): number {
    return this.#size;
  }

  /** Adds bytes; kept by reference (socket chunks are never reused by Node). */
  push(data: Buffer): PeekKind | null {
    if (this.#kind !== null || data.length === 0) return this.#kind;
    this.#bytes.push(data);
    this.#size += data.length;
    this.#kind = this.#classify(data);
    if (this.#kind === null && this.#size >= MAX_PEEK_BYTES) this.#kind = this.#partialKind();
    return this.#kind;
  }

  /** Ends the peek early (timeout, end of stream) with what is known. */
  finish(reason: 'silent' | 'closed'): Peek {
    if (this.#kind === null) this.#kind = this.#size === 0 ? reason : this.#partialKind();
    return this.result();
  }

  result(): Peek {
    return {
      kind: this.#kind ?? 'other',
      bytes: this.#bytes.length === 1 ? this.#bytes[0]! : Buffer.concat(this.#bytes),
      clientHello: this.#clientHello,
      name: this.#name,
    };
  }

  /** What the bytes so far look like when no verdict could be reached. */
  #partialKind(): PeekKind {
    return this.#records !== null ? 'tls' : 'other';
  }

  #classify(data: Buffer): PeekKind | null {
    if (this.#records !== null) return this.#tls(data);
    if (this.#http !== null) return this.#httpData(data);
    const all = this.#bytes.length === 1 ? data : Buffer.concat(this.#bytes);
    const first = all[0]!;
    if (first === ContentType.Handshake) {
      if (all.length < 3) return null;
      if (!looksLikeTlsClientHello(all)) return 'other';
      this.#records = new TlsRecordReader();
      this.#handshake = new HandshakeReader(MAX_PEEK_BYTES);
      return this.#tls(all);
    }
    const n = Math.min(all.length, SSH_PREFIX.length);
    if (all.compare(SSH_PREFIX, 0, n, 0, n) === 0) return n === SSH_PREFIX.length ? 'ssh' : null;
    if (!startsLikeRequestLine(all)) return 'other';
    this.#http = new MessageParser(quietContext, MessageKind.Request, {
      messageBegin: () => undefined,
      head: (head) => {
        this.#head = head;
        return {
          framing: { kind: BodyKind.None, length: 0, contentLength: 0 },
          after: After.HandOver,
        };
      },
      body: () => undefined,
      bodyGap: () => undefined,
      messageEnd: () => undefined,
      truncatedHead: () => undefined,
      stopped: (err) => {
        if (err !== '') this.#httpFailed = true;
      },
    });
    return this.#httpData(all);
  }

  #tls(data: Buffer): PeekKind | null {
    const records = this.#records!;
    const hs = this.#handshake!;
    records.push(data);
    while (records.next()) {
      if (records.contentType !== ContentType.Handshake) return 'tls';
      hs.push(records.fragment);
      if (hs.next()) {
        if (hs.msgType === HandshakeType.ClientHello) {
          this.#clientHello = parseClientHello(hs.body).hello;
          this.#name = this.#clientHello.serverName;
        }
        return 'tls';
      }
      if (hs.error !== null) return 'tls';
      hs.retain();
    }
    if (records.error !== null) return 'tls';
    records.retain();
    return null;
  }

  #httpData(data: Buffer): PeekKind | null {
    this.#http!.data(data);
    const head = this.#head;
    if (head !== null) {
      if (head.method === 'PRI' && head.uri === '*') return 'http2';
      this.#name = head.host ?? '';
      return 'http';
    }
    return this.#httpFailed ? 'other' : null;
  }
}

/** Uppercase token characters up to the first space (methods are tokens, §2.2 asks for `METHOD SP`). */
function startsLikeRequestLine(b: Buffer): boolean {
  const MAX_METHOD = 24;
  for (let i = 0; i < b.length && i <= MAX_METHOD; i++) {
    const c = b[i]!;
    if (c === 0x20) return i > 0;
    const token = (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f;
    if (!token) return false;
  }
  return b.length <= MAX_METHOD;
}

/**
 * Reads the client's first bytes until they name a protocol (and, for TLS and HTTP, the host),
 * for at most `timeoutMs`. `prefix`: bytes already read (after a CONNECT head). Leaves the socket
 * paused with no data listener; what was read is in `Peek.bytes`.
 */
export function peekClient(socket: Socket, timeoutMs: number, prefix: Buffer): Promise<Peek> {
  const fb = new FirstBytes();
  if (prefix.length > 0 && fb.push(prefix) !== null) return Promise.resolve(fb.result());
  return new Promise((resolve) => {
    let done = false;
    const finish = (peek: Peek): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      resolve(peek);
    };
    const onData = (chunk: Buffer): void => {
      if (fb.push(chunk) !== null) finish(fb.result());
    };
    const onEnd = (): void => {
      finish(fb.finish('closed'));
    };
    const timer = setTimeout(() => {
      finish(fb.finish('silent'));
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.resume();
  });
}
