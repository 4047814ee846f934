/**
 * One accepted gateway connection as the sniffers see it: a SniffContext fed from the relay, and
 * the facts its GOST records carry (gost-compat.md §1.1).
 *
 *   client socket ─ fromClient(bytes) ─┬─► counters (inputBytes)
 *                                      └─► sniffer.data(Client)   (while it wants them)
 *   bytes to client ─ toClient(bytes) ─┬─► counters (outputBytes)
 *                                      └─► sniffer.data(Server)
 *   sniffer ─► emit(unit) ─► scrub (Proxy-Authorization) ─► CONNECT merge ─► assembleRecord ─► sink
 *   finish() ─► end(Client), end(Server) ─► a connection record when nothing else was recorded
 *
 * The same sniffers as the passive path (ProtocolDetector and what it hands over to); only the
 * facts differ: `remote` = client peer, `local` = the listener's address, `src`/`dst` = the
 * upstream socket's local/remote address, `host` the target (CONNECT/SOCKS target, original
 * destination, forwarder node, sniffed name), `clientID` the authenticated user, `route` the dialled
 * target, one `sid` per accepted connection, wall-clock times.
 *
 * CONNECT (gost-compat.md §1.7, §6 #1, #2): the HTTP/1 sniffer records the CONNECT exchange
 * (statusCode 200) and hands the tunnel to the next sniffer. That exchange is held back: a TLS
 * pass-through record (scope `connection`) takes it as its `http` object, giving GOST's one record
 * per tunnel; a tunnel nobody recognised gets it as its connection record; a tunnel that carries
 * plain HTTP is recorded per request, and the held CONNECT is dropped, as GOST does.
 */
import { assembleRecord, joinHostPort } from '../record/record-builder.ts';
import { goIpString } from '../sniff/client-ip.ts';
import type { HttpRecord, RecordUnit } from '../record/record-types.ts';
import { newXid } from '../record/xid.ts';
import type { RecordSink } from '../sniff/sniff-stage.ts';
import {
  copyTime,
  Side,
  type ConnectionEndpoints,
  type SniffConfig,
  type SniffContext,
  type StreamSniffer,
  type Timestamp,
} from '../sniff/sniffer.ts';
import { wallClock } from './clock.ts';

/** Request headers that carry proxy credentials: never recorded (§6 #5); identity → `clientID`. */
const CREDENTIAL_HEADERS = ['Proxy-Authorization'];

/** Counters a service keeps over all its connections. */
export interface GatewayStats {
  connections: number;
  active: number;
  /** Connections refused at `maxConnections`. */
  rejected: number;
  records: number;
  /** Parse errors by `proto:code`. */
  parseErrors: Map<string, number>;
}

export function newGatewayStats(): GatewayStats {
  return { connections: 0, active: 0, rejected: 0, records: 0, parseErrors: new Map() };
}

/** What the session needs from its service. */
export interface SessionService {
  readonly name: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly sniffConfig: SniffConfig;
  readonly sink: RecordSink;
  readonly stats: GatewayStats;
}

export interface AcceptedSocket {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

/** `ip:port` of a socket end ('' when unknown), IPv4-mapped IPv6 shown as IPv4 as Go does. */
export function addressOf(ip: string | undefined, port: number | undefined): string {
  if (ip === undefined || port === undefined) return '';
  return joinHostPort(ipText(ip), port);
}

/** A socket address as Go prints it (IPv4-mapped IPv6 as IPv4, RFC 5952 IPv6). */
export function ipText(ip: string): string {
  return goIpString(ip) || ip;
}

export class GatewaySession implements SniffContext {
  readonly config: SniffConfig;
  readonly endpoints: ConnectionEndpoints;
  readonly sid: string;
  readonly start: Timestamp;
  readonly #service: SessionService;
  readonly #remote: string;
  readonly #local: string;
  #sniffer: StreamSniffer | null = null;
  readonly #ended = [false, false];
  #finished = false;
  #units = 0;
  #heldConnect: HttpRecord | null = null;
  /** Attached to the next unit recorded (a refusal or failure the gateway answered itself). */
  #pendingErr = '';

  /** Bytes read from the client and written to it, over the whole connection. */
  inputBytes = 0;
  outputBytes = 0;
  /** Target `host:port` (records of units without one of their own). */
  host = '';
  /** Local and remote address of the upstream connection. */
  src = '';
  dst = '';
  /** The dialled target (`route`). */
  route = '';
  /** Name of the forwarder node dialled (`node`). */
  node = '';
  clientID = '';
  /** `proto` of the connection record when no sniffer named one (`ssh` from the peek). */
  protoHint = '';
  /** Error of the connection (dial failure, refusal, timeout). */
  err = '';

  constructor(service: SessionService, socket: AcceptedSocket) {
    this.#service = service;
    this.config = service.sniffConfig;
    this.start = wallClock();
    this.sid = newXid(this.start.sec);
    const clientIp = ipText(socket.remoteAddress ?? '');
    this.#remote = addressOf(socket.remoteAddress, socket.remotePort);
    this.#local = addressOf(socket.localAddress, socket.localPort);
    this.endpoints = {
      network: 'tcp',
      clientIp,
      clientPort: socket.remotePort ?? 0,
      serverIp: ipText(socket.localAddress ?? ''),
      serverPort: socket.localPort ?? 0,
    };
  }

  /** The sniffer reading this connection (set once, before bytes are teed). */
  get sniffer(): StreamSniffer | null {
    return this.#sniffer;
  }

  attach(sniffer: StreamSniffer): void {
    this.#sniffer ??= sniffer;
  }

  /**
   * The server side's address for the sniffers: its port supplies the default port of sniffed
   * names (Host without a port, SNI) and DNS-over-TCP detection.
   */
  setTarget(ip: string, port: number): void {
    this.endpoints.serverIp = ip;
    this.endpoints.serverPort = port;
  }

  /** The upstream connection is up. */
  setUpstream(socket: AcceptedSocket, route: string): void {
    this.src = addressOf(socket.localAddress, socket.localPort);
    this.dst = addressOf(socket.remoteAddress, socket.remotePort);
    this.route = route;
  }

  /** The next recorded unit carries `err` (e.g. the dial error behind a 503). */
  failNextUnit(err: string): void {
    this.#pendingErr = err;
  }

  /** Protocol bytes of the gateway's own (SOCKS5 negotiation): counted, not sniffed. */
  countIn(bytes: number): void {
    this.inputBytes += bytes;
  }

  countOut(bytes: number): void {
    this.outputBytes += bytes;
  }

  /** Bytes read from the client: counted, and teed to the sniffer. */
  fromClient(bytes: Buffer): void {
    this.inputBytes += bytes.length;
    this.#tee(Side.Client, bytes);
  }

  /** Bytes written to the client (from upstream, or the gateway's own answers). */
  toClient(bytes: Buffer): void {
    this.outputBytes += bytes.length;
    this.#tee(Side.Server, bytes);
  }

  /** The client (Client) or the upstream (Server) finished sending. */
  end(side: Side): void {
    if (this.#ended[side]) return;
    this.#ended[side] = true;
    this.#sniffer?.end(side);
  }

  /** The connection is over: flush the sniffer, and record the connection if nothing else was. */
  finish(err = ''): void {
    if (this.#finished) return;
    if (err !== '' && this.err === '') this.err = err;
    this.end(Side.Client);
    this.end(Side.Server);
    this.#finished = true;
    const held = this.#heldConnect;
    this.#heldConnect = null;
    if (held === null && this.#units > 0) return;
    const t = this.now();
    this.#write({
      proto: this.protoHint,
      scope: 'connection',
      host: '',
      clientIP: '',
      ...(held === null ? {} : { http: held }),
      inputBytes: 0,
      outputBytes: 0,
      start: t,
      end: t,
      err: this.err,
    });
  }

  // ── SniffContext ──────────────────────────────────────────────────────────────────────────

  now(): Timestamp {
    return wallClock();
  }

  emit(unit: RecordUnit): void {
    if (this.#finished) return;
    const http = unit.http;
    if (http?.request.header) for (const h of CREDENTIAL_HEADERS) http.request.header.delete(h);
    if (http?.method === 'CONNECT' && http.statusCode >= 200 && http.statusCode < 300) {
      this.#heldConnect = http;
      return;
    }
    const held = this.#heldConnect;
    if (held !== null) {
      this.#heldConnect = null;
      if (unit.scope === 'connection' && unit.http === undefined) unit.http = held;
    }
    this.#write(unit);
  }

  parseError(proto: string, code: string): void {
    const errors = this.#service.stats.parseErrors;
    const key = `${proto}:${code}`;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  }

  #tee(side: Side, bytes: Buffer): void {
    const s = this.#sniffer;
    if (s !== null && !this.#ended[side] && bytes.length > 0 && s.wants(side)) s.data(side, bytes);
  }

  #write(unit: RecordUnit): void {
    this.#units++;
    if (this.#pendingErr !== '' && unit.err === '') unit.err = this.#pendingErr;
    this.#pendingErr = '';
    const svc = this.#service;
    svc.stats.records++;
    const end = this.now();
    svc.sink.write(
      assembleRecord(svc.name, unit, {
        network: 'tcp',
        remote: this.#remote,
        local: this.#local,
        client: '',
        src: this.src,
        dst: this.dst,
        host: this.host,
        clientIp: this.endpoints.clientIp,
        clientID: this.clientID,
        labels: svc.labels,
        node: this.node,
        route: this.route,
        sid: this.sid,
        start: copyTime(this.start),
        end,
        inputBytes: this.inputBytes,
        outputBytes: this.outputBytes,
      }),
    );
  }
}
