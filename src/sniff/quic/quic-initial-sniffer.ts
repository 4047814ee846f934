/**
 * Passive QUIC Initial sniffer: decrypts the Initial packets of a flow (their keys derive from the
 * client's first Destination Connection ID, RFC 9001 §5.2) and reads the ClientHello and
 * ServerHello they carry; one record per flow, emitted at end().
 *
 *   datagram(side) ─► coalesced packets ─► long header ─┬─ Initial ─► InitialOpener ─► frames
 *                                                       ├─ Retry (server): next client Initial
 *                                                       │   re-derives the keys (RFC 9001 §5.2)
 *                                                       └─ 0-RTT / Handshake / short header: skipped
 *   frames ─► CRYPTO ─► CryptoStream (per side) ─► first message: ClientHello / ServerHello
 *
 * Work is capped: MAX_INITIAL_PACKETS per side; a flow whose first MAX_NON_QUIC_DATAGRAMS datagrams
 * hold no QUIC long header is dropped; once both hellos are read, every datagram returns at once.
 * The selected ALPN travels in EncryptedExtensions (Handshake keys): it stays ''.
 */
import {
  copyTime,
  Side,
  type DatagramSniffer,
  type SniffContext,
  type Timestamp,
} from '../sniffer.ts';
import { parseClientHello, type ClientHello } from '../tls/client-hello.ts';
import { parseServerHello, type ServerHello } from '../tls/server-hello.ts';
import { HandshakeType } from '../tls/tls-protocol.ts';
import { handshakeRecordUnit } from '../tls/tls-record-builder.ts';
import { CryptoStream } from './crypto-stream.ts';
import { readInitialFrames } from './initial-frames.ts';
import { deriveInitialSecrets } from './quic-initial-keys.ts';
import { InitialOpener } from './quic-initial-opener.ts';
import { LONG_HEADER_BIT, parseLongHeader, type LongHeader } from './quic-long-header.ts';
import { PacketKind } from './quic-version.ts';

/** Initial packets opened per side before giving up on its hello. */
export const MAX_INITIAL_PACKETS = 8;
/** Datagrams without any QUIC long header tolerated before the flow is ignored. */
export const MAX_NON_QUIC_DATAGRAMS = 4;

const PROTO = 'quic';

class QuicSide {
  readonly crypto = new CryptoStream();
  packets = 0;
  largestPn = -1;
  /** Hello read, or given up. */
  done = false;
}

export class QuicInitialSniffer implements DatagramSniffer {
  readonly #ctx: SniffContext;
  readonly #client = new QuicSide();
  readonly #server = new QuicSide();
  #clientOpener: InitialOpener | null = null;
  #serverOpener: InitialOpener | null = null;
  /** A Retry was seen: the client's next Initial uses a new DCID and new keys. */
  #rekey = false;
  #sawQuic = false;
  #nonQuicDatagrams = 0;
  #stopped = false;
  #clientHello: ClientHello | null = null;
  #serverHello: ServerHello | null = null;
  #start: Timestamp | null = null;
  /** GOST records the hex of the client's first datagram as `clientHello` (and the server's). */
  #clientDatagramHex = '';
  #serverDatagramHex = '';
  #firstError = '';
  #emitted = false;

  constructor(ctx: SniffContext) {
    this.#ctx = ctx;
  }

  datagram(side: Side, data: Buffer): void {
    if (this.#stopped) return;
    this.#start ??= copyTime(this.#ctx.now());
    for (let off = 0; off < data.length;) {
      // A short-header (1-RTT) packet, or padding after the last packet, runs to the end.
      if ((data[off]! & LONG_HEADER_BIT) === 0) break;
      const h = parseLongHeader(data, off);
      if (typeof h === 'string') {
        // Before any QUIC was seen this is just another protocol; afterwards a broken packet.
        // Other versions (and Version Negotiation) cannot be read but are not malformed.
        if (this.#sawQuic && h !== 'unknown_version') this.#error(h);
        break;
      }
      if (!this.#sawQuic && side === Side.Client) this.#clientDatagramHex = data.toString('hex');
      if (this.#serverDatagramHex === '' && side === Side.Server) {
        this.#serverDatagramHex = data.toString('hex');
      }
      this.#sawQuic = true;
      if (h.kind === PacketKind.Initial) this.#onInitial(side, data, h);
      else if (h.kind === PacketKind.Retry && side === Side.Server) this.#rekey = true;
      off = h.end;
    }
    if (!this.#sawQuic && ++this.#nonQuicDatagrams >= MAX_NON_QUIC_DATAGRAMS) {
      this.#stopped = true;
    }
    if (this.#client.done && this.#server.done) this.#stopped = true;
  }

  end(): void {
    this.#stopped = true;
    if (this.#emitted || !this.#sawQuic || this.#start === null) return;
    this.#emitted = true;
    this.#ctx.emit(
      handshakeRecordUnit(
        this.#ctx,
        PROTO,
        {
          clientHello: this.#clientHello,
          serverHello: this.#serverHello,
          certificates: [],
          // QUIC carries no TLS records: GOST writes the first datagrams instead.
          clientRecordHex: this.#clientDatagramHex,
          serverRecordHex: this.#serverDatagramHex,
        },
        this.#start,
        this.#firstError,
      ),
    );
  }

  #side(side: Side): QuicSide {
    return side === Side.Client ? this.#client : this.#server;
  }

  #onInitial(side: Side, data: Buffer, h: LongHeader): void {
    const s = this.#side(side);
    if (s.done) return;
    if (++s.packets > MAX_INITIAL_PACKETS) {
      s.done = true;
      return;
    }
    if (side === Side.Client && (this.#clientOpener === null || this.#rekey)) {
      this.#rekey = false;
      const secrets = deriveInitialSecrets(h.params, h.dcid);
      this.#clientOpener = new InitialOpener(secrets.client);
      this.#serverOpener = new InitialOpener(secrets.server);
    }
    // A server Initial before any client Initial: its keys are unknown.
    const opener = side === Side.Client ? this.#clientOpener : this.#serverOpener;
    if (opener === null) return;
    const opened = opener.open(data, h, s.largestPn);
    if (!opened.ok) {
      this.#error(opened.error);
      return;
    }
    s.largestPn = Math.max(s.largestPn, opened.packetNumber);
    const frameError = readInitialFrames(opened.payload, s.crypto);
    if (frameError !== null) this.#error(frameError);
    const message = s.crypto.firstMessage();
    if (message === null) return;
    s.done = true;
    if (typeof message === 'string') this.#error(message);
    else if (side === Side.Client) this.#onClientHello(message.msgType, message.body);
    else this.#onServerHello(message.msgType, message.body);
  }

  #onClientHello(msgType: number, body: Buffer): void {
    if (msgType !== HandshakeType.ClientHello) {
      this.#error('not_client_hello');
      return;
    }
    const { hello, error } = parseClientHello(body);
    this.#clientHello = hello;
    if (error !== null) this.#error(error);
  }

  #onServerHello(msgType: number, body: Buffer): void {
    if (msgType !== HandshakeType.ServerHello) {
      this.#error('not_server_hello');
      return;
    }
    const { hello, error } = parseServerHello(body);
    this.#serverHello = hello;
    if (error !== null) this.#error(error);
  }

  #error(code: string): void {
    this.#ctx.parseError(PROTO, code);
    if (this.#firstError === '') this.#firstError = code;
  }
}
