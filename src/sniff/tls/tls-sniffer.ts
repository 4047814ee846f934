/**
 * Passive TLS handshake sniffer: one record per connection with SNI, versions, cipher suites, ALPN,
 * the server chain (TLS ≤ 1.2) and JA3/JA3S/JA4 fingerprints.
 *
 *   data(side) ─► TlsRecordReader ─► handshake records ─► HandshakeReader ─► #on{Client,Server}Message
 *                                 └► any other record (CCS, alert, application data): the clear
 *                                    part is over, stop both sides
 *
 *   client: ClientHello ────────────────────────────────────────► stop the client side
 *   server: ServerHello ─┬─ TLS 1.3 / HelloRetryRequest ────────► stop both (the rest is encrypted)
 *                        └─ TLS ≤ 1.2: Certificate … ServerHelloDone ► stop both
 *   end(client) + end(server) ─► emit one RecordUnit (scope 'connection')
 *
 * Each side keeps at most one record (≤ 2^14 + 2048 bytes) and one handshake message
 * (≤ MAX_HANDSHAKE_BYTES) buffered, and the server gets MAX_SERVER_MESSAGES messages to reach
 * ServerHelloDone. Malformed input is counted through `ctx.parseError('tls', code)` and stops the
 * side(s) it makes unreadable; the record's `err` is the first such code. Nothing here throws.
 */
import type { CertificateRecord } from '../../record/record-types.ts';
import {
  copyTime,
  Side,
  type SniffContext,
  type StreamSniffer,
  type Timestamp,
} from '../sniffer.ts';
import { parseClientHello, type ClientHello } from './client-hello.ts';
import { HandshakeReader } from './handshake-reader.ts';
import { parseCertificateMessage } from './server-certificates.ts';
import { parseServerHello, type ServerHello } from './server-hello.ts';
import { ContentType, HandshakeType, TlsVersion } from './tls-protocol.ts';
import { handshakeRecordUnit } from './tls-record-builder.ts';
import { TlsRecordReader } from './tls-record-reader.ts';

/** Largest handshake message reassembled (a ClientHello with post-quantum key shares is ~2 KiB). */
export const MAX_HANDSHAKE_BYTES = 256 * 1024;
/**
 * Server messages read before giving up on ServerHelloDone. A TLS 1.2 flight has at most six:
 * ServerHello, Certificate, CertificateStatus, ServerKeyExchange, CertificateRequest, ServerHelloDone.
 */
export const MAX_SERVER_MESSAGES = 16;

const PROTO = 'tls';

/** One direction's parsers and progress. */
class SideState {
  readonly records = new TlsRecordReader();
  readonly handshake = new HandshakeReader(MAX_HANDSHAKE_BYTES);
  wanted = true;
  ended = false;
  /**
   * Hex of the side's first record, 5-byte header included. Like GOST, only the first record is
   * kept even when the ClientHello spans several records (gost-compat.md §1.5).
   */
  firstRecordHex = '';
}

export class TlsSniffer implements StreamSniffer {
  readonly #ctx: SniffContext;
  readonly #client = new SideState();
  readonly #server = new SideState();
  #clientHello: ClientHello | null = null;
  #serverHello: ServerHello | null = null;
  #certificates: CertificateRecord[] = [];
  #serverMessages = 0;
  #start: Timestamp | null = null;
  #firstError = '';
  #emitted = false;

  constructor(ctx: SniffContext) {
    this.#ctx = ctx;
  }

  data(side: Side, data: Buffer): void {
    const s = this.#side(side);
    if (!s.wanted || s.ended || data.length === 0) return;
    this.#start ??= copyTime(this.#ctx.now());
    s.records.push(data);
    while (this.wants(side) && s.records.next()) this.#onRecord(side, s);
    if (!this.wants(side)) return;
    if (s.records.error !== null) {
      this.#error(s.records.error);
      this.#stopBoth();
      return;
    }
    s.records.retain();
    s.handshake.retain();
  }

  gap(side: Side): void {
    // A hole in the handshake cannot be skipped: what follows is unreadable.
    this.#stop(this.#side(side));
  }

  end(side: Side): void {
    const s = this.#side(side);
    if (s.ended) return;
    s.ended = true;
    if (s.wanted && (s.records.buffered > 0 || s.handshake.partial)) {
      this.#error('handshake_truncated');
    }
    this.#stop(s);
    if (this.#client.ended && this.#server.ended) this.#emit();
  }

  wants(side: Side): boolean {
    return this.#side(side).wanted;
  }

  #side(side: Side): SideState {
    return side === Side.Client ? this.#client : this.#server;
  }

  #onRecord(side: Side, s: SideState): void {
    const r = s.records;
    if (r.records === 1) s.firstRecordHex = r.headerHex() + r.fragment.toString('hex');
    if (r.contentType !== ContentType.Handshake) {
      // ChangeCipherSpec, alerts and application data: the rest of the connection is not
      // handshake in the clear. A client that starts with anything else is not doing TLS here.
      if (side === Side.Client && this.#clientHello === null) this.#error('not_client_hello');
      else if (s.handshake.partial) this.#error('interleaved_handshake');
      this.#stopBoth();
      return;
    }
    s.handshake.push(r.fragment);
    const hs = s.handshake;
    while (s.wanted && hs.next()) {
      if (side === Side.Client) this.#onClientMessage(hs.msgType, hs.body);
      else this.#onServerMessage(hs.msgType, hs.body);
    }
    if (s.wanted && hs.error !== null) {
      this.#error(hs.error);
      this.#stopBoth();
    }
  }

  #onClientMessage(msgType: number, body: Buffer): void {
    if (msgType !== HandshakeType.ClientHello) {
      this.#error('not_client_hello');
      this.#stopBoth();
      return;
    }
    const { hello, error } = parseClientHello(body);
    this.#clientHello = hello;
    if (error !== null) this.#error(error);
    // Nothing later from the client is readable or needed.
    this.#stop(this.#client);
  }

  #onServerMessage(msgType: number, body: Buffer): void {
    if (++this.#serverMessages > MAX_SERVER_MESSAGES) {
      this.#error('too_many_handshake_messages');
      this.#stopBoth();
      return;
    }
    const sh = this.#serverHello;
    if (sh === null) {
      if (msgType !== HandshakeType.ServerHello) {
        this.#error('not_server_hello');
        this.#stopBoth();
        return;
      }
      const { hello, error } = parseServerHello(body);
      this.#serverHello = hello;
      if (error !== null) this.#error(error);
      // TLS 1.3 encrypts everything after the ServerHello (RFC 8446 §2); an HRR only asks the
      // client to try again, and its version and cipher are already the final ones.
      const tls13 = hello.selectedVersion >= TlsVersion.Tls13 || hello.helloRetryRequest;
      if (error !== null || tls13) this.#stopBoth();
      return;
    }
    if (msgType === HandshakeType.Certificate && this.#certificates.length === 0) {
      const { certificates, error } = parseCertificateMessage(body);
      this.#certificates = certificates;
      if (error !== null) this.#error(error);
    } else if (msgType === HandshakeType.ServerHelloDone) {
      this.#stopBoth();
    }
  }

  #error(code: string): void {
    this.#ctx.parseError(PROTO, code);
    if (this.#firstError === '') this.#firstError = code;
  }

  #stop(s: SideState): void {
    if (!s.wanted) return;
    s.wanted = false;
    s.records.stop();
    s.handshake.stop();
  }

  #stopBoth(): void {
    this.#stop(this.#client);
    this.#stop(this.#server);
  }

  #emit(): void {
    if (this.#emitted || this.#start === null) return;
    this.#emitted = true;
    this.#ctx.emit(
      handshakeRecordUnit(
        this.#ctx,
        PROTO,
        {
          clientHello: this.#clientHello,
          serverHello: this.#serverHello,
          certificates: this.#certificates,
          clientRecordHex: this.#client.firstRecordHex,
          serverRecordHex: this.#server.firstRecordHex,
        },
        this.#start,
        this.#firstError,
      ),
    );
  }
}
