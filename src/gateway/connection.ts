/**
 * What every handler works with: the accepted connection, its service, its sniff session; and the
 * steps handlers share once they know where the client wants to go:
 *
 *   sniffClient ── peek at the first client bytes (sniffing on; bounded by sniffing.timeout)
 *        │
 *   checkTarget ── the service bypass, on the negotiated target and again on the sniffed host
 *        │
 *   interceptTls ─ the TLS interception hook (MITM, src/gateway/mitm/): offered every TLS
 *        │         ClientHello; pass-through when no interceptor takes it
 *   relayTo ────── relay with the session's sniffer teed into both directions
 *
 * Handlers differ in how they learn the target (HTTP CONNECT or absolute-form request, SOCKS5
 * request, fixed forwarder nodes, SO_ORIGINAL_DST, SNI/Host) and in when they dial (before the
 * client's first bytes for CONNECT/SOCKS5, after them where the sniffed host picks the target).
 */
import type { Socket } from 'node:net';
import { joinHostPort } from '../record/record-builder.ts';
import { createHttp2Sniffer } from '../sniff/http2/http2-sniffer.ts';
import { ProtocolDetector, snifferFactories } from '../sniff/protocol-detector.ts';
import { hostWithPort } from '../sniff/client-ip.ts';
import { Side, type SnifferFactories, type StreamSniffer } from '../sniff/sniffer.ts';
import { splitHostPort, type Bypass } from './bypass.ts';
import type { ForwardNode, ServiceConfig } from './gateway-config.ts';
import { dial } from './dial.ts';
import { ipText, type GatewaySession, type SessionService } from './gateway-sniffer.ts';
import { peekClient, type Peek } from './peek.ts';
import { relay } from './relay.ts';

/** A request to intercept one TLS connection (the ClientHello has been peeked, not yet relayed). */
export interface TlsInterceptRequest {
  readonly client: Socket;
  /** Everything read from the client so far (the ClientHello); replay it to a TLS server socket. */
  readonly peeked: Buffer;
  readonly peek: Peek;
  /** `host:port` the client asked for (CONNECT/SOCKS target, SNI + port, original destination). */
  readonly target: string;
  /** The upstream, when the handler dialled before peeking (CONNECT, SOCKS5); else null. */
  readonly upstream: Socket | null;
  readonly session: GatewaySession;
}

/**
 * The TLS interception hook, implemented by the MITM layer (src/gateway/mitm/). `intercept`
 * returns false to let the connection pass through untouched; true when it has taken over the
 * client (and `upstream`, if any) and will resolve once the connection is over.
 */
export interface TlsInterceptor {
  intercept(req: TlsInterceptRequest): Promise<boolean>;
}

export interface ServiceRuntime extends SessionService {
  readonly config: ServiceConfig;
  readonly bypass: Bypass | null;
  /** `mitm.bypass`: true = do not intercept. */
  readonly mitmBypass: Bypass | null;
  readonly tlsInterceptor: TlsInterceptor | null;
  /** Round-robin position over the forwarder nodes. */
  nextNode: number;
}

export interface GatewayConnection {
  readonly service: ServiceRuntime;
  readonly socket: Socket;
  readonly session: GatewaySession;
}

/** Handles one accepted connection; resolves when it is over (the service then records it). */
export type ConnectionHandler = (conn: GatewayConnection) => Promise<void>;

/** A sniffer that wants nothing: a CONNECT tunnel with sniffing off. */
const OPAQUE: StreamSniffer = {
  data: () => undefined,
  gap: () => undefined,
  end: () => undefined,
  wants: () => false,
};

/** Sniffer factories for a handler: tunnels are detected again only with sniffing on. */
export function factoriesFor(sniffing: boolean): SnifferFactories {
  return sniffing ? snifferFactories : { http2: createHttp2Sniffer, tunnel: () => OPAQUE };
}

/** Calls `onExpire` after `ms` (0 = never); returns the cancel function. */
export function deadline(ms: number, onExpire: () => void): () => void {
  if (ms <= 0) return () => undefined;
  const t = setTimeout(onExpire, ms);
  return () => {
    clearTimeout(t);
  };
}

/** The peek, or null when the handler does not sniff. `prefix`: bytes already read. */
export async function sniffClient(conn: GatewayConnection, prefix: Buffer): Promise<Peek | null> {
  const sniffing = conn.service.config.handler.sniffing;
  if (!sniffing.enabled) return null;
  const peek = await peekClient(conn.socket, sniffing.timeoutMs, prefix);
  if (peek.kind === 'ssh') conn.session.protoHint = 'ssh';
  return peek;
}

/** The `host:port` a peek names (SNI, or Host with `port` added when it has none); '' if none. */
export function sniffedHost(peek: Peek | null, port: number): string {
  if (peek === null || peek.name === '') return '';
  return peek.kind === 'tls' || peek.kind === 'http' ? hostWithPort(peek.name, port) : '';
}

/** True when the service bypass lets `target` through; else records why it did not. */
export function checkTarget(conn: GatewayConnection, target: string): boolean {
  const bypass = conn.service.bypass;
  if (bypass === null || target === '' || !bypass.contains('tcp', target)) return true;
  conn.session.err = `bypass: ${target}`;
  return false;
}

/**
 * Offers a peeked TLS connection to the interceptor (MITM). True when it took the connection over
 * (and has finished with it).
 */
export async function interceptTls(
  conn: GatewayConnection,
  peek: Peek | null,
  target: string,
  upstream: Socket | null,
): Promise<boolean> {
  const interceptor = conn.service.tlsInterceptor;
  if (interceptor === null || peek === null || peek.kind !== 'tls') return false;
  if (conn.service.mitmBypass?.contains('tcp', target) === true) return false;
  return interceptor.intercept({
    client: conn.socket,
    peeked: peek.bytes,
    peek,
    target,
    upstream,
    session: conn.session,
  });
}

/**
 * Dials `host:port` for the connection. On success the session takes the upstream's addresses,
 * `route` and `node`; on failure (or when the client left meanwhile) its `err`, and null.
 */
export async function dialUpstream(
  conn: GatewayConnection,
  host: string,
  port: number,
  route: string,
  node = '',
): Promise<Socket | null> {
  let upstream: Socket;
  try {
    upstream = await dial(host, port, conn.service.config.handler.dialTimeoutMs);
  } catch (e) {
    conn.session.err = e instanceof Error ? e.message : String(e);
    return null;
  }
  if (conn.socket.destroyed) {
    upstream.destroy();
    conn.session.err ||= 'client closed before the upstream answered';
    return null;
  }
  const { session } = conn;
  session.setUpstream(upstream, route);
  session.setTarget(ipText(upstream.remoteAddress ?? host), port);
  session.node = node;
  session.err = '';
  return upstream;
}

/** Dials the nodes in turn; the first that answers wins. */
export async function dialNodes(
  conn: GatewayConnection,
  nodes: readonly ForwardNode[],
): Promise<Socket | null> {
  if (nodes.length === 0) {
    conn.session.err ||= 'no forwarder node for this target';
    return null;
  }
  for (const node of nodes) {
    const { host, port } = node.addr;
    const s = await dialUpstream(conn, host, port, joinHostPort(host, port), node.name);
    if (s !== null || conn.socket.destroyed) return s;
  }
  return null;
}

/**
 * Relays the client and `upstream` until both are done, teeing every byte into the session's
 * sniffer (a fresh ProtocolDetector when sniffing is on and none is attached yet).
 */
export async function relayTo(
  conn: GatewayConnection,
  upstream: Socket,
  prefix: Buffer,
): Promise<void> {
  const { session, service } = conn;
  const cfg = service.config.handler;
  if (cfg.sniffing.enabled && session.sniffer === null) {
    session.attach(new ProtocolDetector(session, snifferFactories));
  }
  const result = await relay(conn.socket, upstream, {
    idleTimeoutMs: cfg.idleTimeoutMs,
    clientPrefix: prefix,
    onClientData: (chunk) => {
      session.fromClient(chunk);
    },
    onUpstreamData: (chunk) => {
      session.toClient(chunk);
    },
    onEnd: (from) => {
      session.end(from === 'client' ? Side.Client : Side.Server);
    },
  });
  if (result.err !== '' && session.err === '') session.err = result.err;
}

/**
 * The forwarder nodes that may serve `host` (sniffed `host:port`, or '') over `protocol`, starting
 * at the service's round-robin position: nodes whose `host` matches first, then nodes without one.
 */
export function candidateNodes(
  service: ServiceRuntime,
  host: string,
  protocol: string,
): ForwardNode[] {
  const nodes = service.config.forwarder;
  const name = host === '' ? '' : hostOnly(host).toLowerCase();
  const start = service.nextNode++ % Math.max(1, nodes.length);
  const rotated = [...nodes.slice(start), ...nodes.slice(0, start)];
  const fits = (n: ForwardNode): boolean => n.protocol === '' || n.protocol === protocol;
  const named = rotated.filter((n) => n.host !== '' && fits(n) && hostMatches(n.host, name));
  const fallback = rotated.filter((n) => n.host === '' && fits(n));
  return [...named, ...fallback];
}

/** The host of `host:port` / `[v6]:port` (the text itself when it has no port). */
export function hostOnly(hostport: string): string {
  return splitHostPort(hostport)?.host ?? hostport;
}

/** GOST node `host`: `a.test` exactly; `.a.test` and `*.a.test` it and its subdomains. */
export function hostMatches(pattern: string, name: string): boolean {
  if (name === '') return false;
  if (pattern.startsWith('*.')) pattern = pattern.slice(1);
  if (pattern.startsWith('.')) return name === pattern.slice(1) || name.endsWith(pattern);
  return name === pattern;
}
