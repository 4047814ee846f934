/**
 * TLS interception (MITM, gost-compat.md §3 with the §6 #6, #18, #25 changes): the TlsInterceptor
 * the gateway offers every peeked ClientHello (after `mitm.bypass`, applied by the caller).
 *
 *   decide ── ClientHello parsed, ALPN offers h2 or http/1.1 anywhere, or no ALPN (§6 #6)
 *     │         else false: pass-through
 *   upstream leg ── TLS over the dialled socket: SNI = client SNI, ALPN = the client's h2/http/1.1
 *     │             offers (or `mitm.alpn`), verified against the system store (+ `mitm.caFile`;
 *     │             `mitm.insecure` skips it)
 *     ├─ failure ── client handshake with the leaf, ALPN http/1.1, HTTP 502 naming the reason;
 *     │             the record carries `err` (an h2-only client gets the no-ALPN alert instead)
 *   client leg ── the peeked ClientHello replayed into a server TLSSocket with the leaf for the SNI
 *     │           (else the target host/IP) and ALPN = exactly what the upstream selected
 *   relay ── decrypted bytes teed through the session's sniffers (ProtocolDetector: HTTP/1, h2);
 *            each record gets `proto: "tls"` and the upstream handshake's `tls{}`
 *
 * Handlers that dial after the peek (sni, red, tcp) hand over no upstream: the target is dialled
 * here directly (forwarder nodes are not consulted for intercepted connections).
 */
import { readFile } from 'node:fs/promises';
import { isIP, type Socket } from 'node:net';
import { Duplex } from 'node:stream';
import { connect as tlsConnect, rootCertificates, TLSSocket, type PeerCertificate } from 'node:tls';
import { TapgateError } from '../../errors.ts';
import type { CertificateRecord, RecordUnit, TlsRecord } from '../../record/record-types.ts';
import { snifferFactories, ProtocolDetector } from '../../sniff/protocol-detector.ts';
import { Side, type SniffContext } from '../../sniff/sniffer.ts';
import { certificateRecord } from '../../sniff/tls/server-certificates.ts';
import { buildTlsRecord } from '../../sniff/tls/tls-record-builder.ts';
import { splitHostPort } from '../bypass.ts';
import type { TlsInterceptor, TlsInterceptRequest } from '../connection.ts';
import { dial } from '../dial.ts';
import type { GatewayConfig, MitmOptions } from '../gateway-config.ts';
import { ipText, type GatewaySession } from '../gateway-sniffer.ts';
import { relay } from '../relay.ts';
import { loadCertificateAuthority, type CertificateAuthority } from './ca.ts';
import { LeafIssuer, type LeafIssuerOptions } from './leaf-issuer.ts';

/** Bound on each handshake and on the wait for the request before a 502, when no timeout is set. */
const DEFAULT_HANDSHAKE_MS = 10_000;
const HTTP_ALPN = ['h2', 'http/1.1'];

export interface MitmSettings {
  /** `mitm.alpn`: forced on both legs; '' = mirror the client. */
  readonly alpn: string;
  /** Trusted for upstream certificates: the system store plus `mitm.caFile` (null = system only). */
  readonly upstreamCa: readonly string[] | null;
  readonly insecure: boolean;
  readonly handshakeTimeoutMs: number;
  readonly dialTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/** True when the client's ALPN offer is HTTP (anywhere in the list), or absent (§6 #6). */
export function wantsInterception(offered: readonly string[]): boolean {
  return offered.length === 0 || offered.some((p) => HTTP_ALPN.includes(p));
}

export class MitmInterceptor implements TlsInterceptor {
  readonly #issuer: LeafIssuer;
  readonly #settings: MitmSettings;

  constructor(issuer: LeafIssuer, settings: MitmSettings) {
    this.#issuer = issuer;
    this.#settings = settings;
  }

  async intercept(req: TlsInterceptRequest): Promise<boolean> {
    const ch = req.peek.clientHello;
    if (ch === null || !wantsInterception(ch.alpn)) return false;
    const s = this.#settings;
    const { session, client } = req;
    const hp = splitHostPort(req.target);
    const targetHost = hp?.host ?? req.target;
    const targetPort = Number(hp?.port ?? 443) || 443;
    const sni = ch.serverName;

    let raw = req.upstream;
    if (raw === null) {
      try {
        raw = await dial(targetHost, targetPort, s.dialTimeoutMs);
      } catch (e) {
        session.err = messageOf(e);
        client.destroy();
        return true;
      }
      session.setUpstream(raw, req.target);
      session.setTarget(ipText(raw.remoteAddress ?? targetHost), targetPort);
    }

    const leafName = sni !== '' ? sni : targetHost;
    const leafPromise = this.#issuer.issue(leafName);
    leafPromise.catch(() => undefined);
    const upAlpn =
      s.alpn !== ''
        ? [s.alpn]
        : ch.alpn.length === 0
          ? ['http/1.1']
          : ch.alpn.filter((p) => HTTP_ALPN.includes(p));
    const verifyName = sni !== '' ? sni : targetHost;
    let upstream: TLSSocket | null = null;
    let upstreamErr = '';
    try {
      upstream = await this.#connectUpstream(raw, verifyName, upAlpn);
    } catch (e) {
      upstreamErr = `mitm: upstream TLS to ${verifyName}: ${messageOf(e)}`;
      raw.destroy();
    }

    let leaf;
    try {
      leaf = await leafPromise;
    } catch (e) {
      session.err = `mitm: no leaf certificate for ${leafName}: ${messageOf(e)}`;
      upstream?.destroy();
      raw.destroy();
      client.destroy();
      return true;
    }
    const selected = upstream === null ? 'http/1.1' : alpnOf(upstream);
    const clientAlpn = s.alpn !== '' && upstream !== null ? [s.alpn] : selected ? [selected] : null;
    const clientTls = new TLSSocket(replayDuplex(client, req.peeked), {
      isServer: true,
      secureContext: leaf.secureContext,
      ...(clientAlpn === null ? {} : { ALPNProtocols: clientAlpn }),
    });
    clientTls.on('error', () => undefined);
    try {
      await settle(clientTls, 'secure', this.#timeout(), 'client TLS handshake');
    } catch (e) {
      session.err = upstreamErr || `mitm: client TLS handshake: ${messageOf(e)}`;
      clientTls.destroy();
      client.destroy();
      upstream?.destroy();
      return true;
    }

    // A sniffer of its own: the session's (on CONNECT, the HTTP/1 one that read the CONNECT
    // exchange) never sees the encrypted tunnel.
    const tap = new DecryptedTap(session, tlsRecordOf(req, upstream, alpnOf(clientTls)));
    if (upstream === null) {
      await this.#answerBadGateway(session, tap, clientTls, upstreamErr);
      tap.close();
      client.destroy();
      return true;
    }
    const result = await relay(clientTls, upstream, {
      idleTimeoutMs: s.idleTimeoutMs,
      onClientData: (chunk) => {
        tap.data(Side.Client, chunk);
      },
      onUpstreamData: (chunk) => {
        tap.data(Side.Server, chunk);
      },
      onEnd: (from) => {
        tap.end(from === 'client' ? Side.Client : Side.Server);
      },
    });
    tap.close();
    if (result.err !== '' && session.err === '') session.err = result.err;
    client.destroy();
    raw.destroy();
    return true;
  }

  #timeout(): number {
    return this.#settings.handshakeTimeoutMs > 0
      ? this.#settings.handshakeTimeoutMs
      : DEFAULT_HANDSHAKE_MS;
  }

  async #connectUpstream(raw: Socket, name: string, alpn: string[]): Promise<TLSSocket> {
    const s = this.#settings;
    const socket = tlsConnect({
      socket: raw,
      host: name,
      ...(isIP(name) === 0 ? { servername: name } : {}),
      ALPNProtocols: alpn,
      rejectUnauthorized: !s.insecure,
      ...(s.upstreamCa === null ? {} : { ca: [...s.upstreamCa] }),
    });
    try {
      await settle(socket, 'secureConnect', this.#timeout(), 'handshake');
    } catch (e) {
      socket.destroy();
      throw e;
    }
    return socket;
  }

  /** The upstream leg failed: answer the client's first request with 502 (§6 #25). */
  async #answerBadGateway(
    session: GatewaySession,
    tap: DecryptedTap,
    tls: TLSSocket,
    reason: string,
  ): Promise<void> {
    session.err = reason;
    session.failNextUnit(reason);
    const first = await new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => {
        resolve(null);
      }, this.#timeout());
      const done = (b: Buffer | null): void => {
        clearTimeout(timer);
        resolve(b);
      };
      tls.once('data', (b: Buffer) => {
        tls.pause();
        done(b);
      });
      tls.once('end', () => {
        done(null);
      });
      tls.once('close', () => {
        done(null);
      });
    });
    if (first === null) {
      tls.destroy();
      return;
    }
    tap.data(Side.Client, first);
    tap.end(Side.Client);
    const body = `tapgate: ${reason}\n`;
    const response = Buffer.from(
      'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${String(Buffer.byteLength(body))}\r\nConnection: close\r\n\r\n${body}`,
    );
    tap.data(Side.Server, response);
    tap.end(Side.Server);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        tls.destroy();
      }, this.#timeout());
      tls.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      tls.end(response);
      tls.resume();
    });
  }
}

/** The settings and the CA-backed interceptors of every service with `mitm.*`. */
export interface PreparedInterception {
  readonly interceptorFor: (service: string) => TlsInterceptor | null;
  /** CA problems the operator must see (key file readable by others, …), each once. */
  readonly warnings: readonly string[];
}

/**
 * Loads each distinct CA (and `mitm.caFile`) once; fails with TG_ERR_CONFIG on an unusable file.
 */
export async function prepareTlsInterception(
  config: GatewayConfig,
  issuerOptions: LeafIssuerOptions = {},
): Promise<PreparedInterception> {
  const issuers = new Map<string, { ca: CertificateAuthority; issuer: LeafIssuer }>();
  const extraCas = new Map<string, string>();
  const interceptors = new Map<string, TlsInterceptor>();
  const warnings = new Set<string>();
  for (const svc of config.services) {
    const m = svc.handler.mitm;
    if (m === null) continue;
    const key = `${m.certFile}\0${m.keyFile}`;
    let entry = issuers.get(key);
    if (entry === undefined) {
      const ca = await loadCertificateAuthority(m.certFile, m.keyFile);
      entry = { ca, issuer: await LeafIssuer.create(ca, issuerOptions) };
      issuers.set(key, entry);
    }
    for (const w of entry.ca.warnings) warnings.add(w);
    const h = svc.handler;
    interceptors.set(
      svc.name,
      new MitmInterceptor(entry.issuer, {
        alpn: m.alpn,
        upstreamCa: await upstreamCa(m, extraCas),
        insecure: m.insecure,
        handshakeTimeoutMs: h.handshakeTimeoutMs,
        dialTimeoutMs: h.dialTimeoutMs,
        idleTimeoutMs: h.idleTimeoutMs,
      }),
    );
    if (m.insecure) {
      warnings.add(
        `mitm: WARNING: service ${svc.name}: mitm.insecure is set; upstream certificates are not verified`,
      );
    }
  }
  return { interceptorFor: (name) => interceptors.get(name) ?? null, warnings: [...warnings] };
}

async function upstreamCa(
  m: MitmOptions,
  cache: Map<string, string>,
): Promise<readonly string[] | null> {
  if (m.caFile === '') return null;
  let pem = cache.get(m.caFile);
  if (pem === undefined) {
    try {
      pem = await readFile(m.caFile, 'utf8');
    } catch (e) {
      throw new TapgateError('TG_ERR_CONFIG', `mitm: ${m.caFile}: ${messageOf(e)}`, { cause: e });
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new TapgateError('TG_ERR_CONFIG', `mitm: ${m.caFile}: no PEM CERTIFICATE block`);
    }
    cache.set(m.caFile, pem);
  }
  return [...rootCertificates, pem];
}

/**
 * A Duplex over the client socket that first yields `peeked` (the ClientHello already consumed
 * by the peek), so a server TLSSocket sees the handshake from its first byte.
 */
function replayDuplex(client: Socket, peeked: Buffer): Duplex {
  const d = new Duplex({
    read() {
      client.resume();
    },
    write(chunk: Buffer, _enc, cb) {
      if (client.destroyed) {
        cb(new Error('client closed'));
        return;
      }
      client.write(chunk, (e) => {
        cb(e ?? null);
      });
    },
    final(cb) {
      client.end();
      cb();
    },
    destroy(err, cb) {
      client.destroy();
      cb(err);
    },
  });
  d.push(peeked);
  client.on('data', (chunk: Buffer) => {
    if (!d.push(chunk)) client.pause();
  });
  client.once('end', () => d.push(null));
  client.once('close', () => {
    if (!d.destroyed) d.destroy();
  });
  return d;
}

/** Resolves on `event`; rejects on error, close, or after `ms`. */
function settle(socket: TLSSocket, event: string, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off(event, onOk);
      socket.off('error', onErr);
      socket.off('close', onClose);
    };
    const onOk = (): void => {
      cleanup();
      resolve();
    };
    const onErr = (e: Error): void => {
      cleanup();
      reject(e);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error(`${what}: connection closed`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: timeout after ${String(ms)} ms`));
    }, ms);
    socket.once(event, onOk);
    socket.once('error', onErr);
    socket.once('close', onClose);
  });
}

function alpnOf(s: TLSSocket): string {
  return typeof s.alpnProtocol === 'string' ? s.alpnProtocol : '';
}

const VERSION_NAMES: Record<string, string> = {
  SSLv3: 'sslv3',
  TLSv1: 'tls1.0',
  'TLSv1.1': 'tls1.1',
  'TLSv1.2': 'tls1.2',
  'TLSv1.3': 'tls1.3',
};

/** The `tls{}` of the records: the client's ClientHello, the upstream handshake's results. */
function tlsRecordOf(
  req: TlsInterceptRequest,
  upstream: TLSSocket | null,
  clientAlpn: string,
): TlsRecord {
  const p = req.peeked;
  const firstRecord = p.length >= 5 ? p.subarray(0, Math.min(p.length, 5 + p.readUInt16BE(3))) : p;
  const rec = buildTlsRecord(
    {
      clientHello: req.peek.clientHello,
      serverHello: null,
      certificates: upstream === null ? [] : peerChain(upstream),
      clientRecordHex: firstRecord.toString('hex'),
      serverRecordHex: '',
    },
    't',
  );
  // No upstream handshake (it failed): what the gateway agreed with the client.
  if (upstream === null) return { ...rec, proto: clientAlpn || rec.proto };
  const selected = alpnOf(upstream);
  const protocol = upstream.getProtocol() ?? '';
  return {
    ...rec,
    cipherSuite: upstream.getCipher().standardName,
    version: VERSION_NAMES[protocol] ?? protocol,
    proto: selected !== '' ? selected : rec.proto,
    alpnSelected: selected,
  };
}

function peerChain(s: TLSSocket): CertificateRecord[] {
  const out: CertificateRecord[] = [];
  let cert: PeerCertificate | undefined = s.getPeerCertificate(true);
  const seen = new Set<PeerCertificate>();
  while (cert?.raw !== undefined && !seen.has(cert) && out.length < 10) {
    seen.add(cert);
    const r = certificateRecord(cert.raw);
    if (r !== null) out.push(r);
    cert = (cert as { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return out;
}

/**
 * The decrypted streams of one intercepted connection: counted on the session, read by a
 * ProtocolDetector whose every unit is marked as decrypted TLS (`proto: "tls"`, the `tls{}` of
 * the upstream handshake) before the session records it.
 */
class DecryptedTap {
  readonly #session: GatewaySession;
  readonly #sniffer: ProtocolDetector;
  readonly #ended = [false, false];

  constructor(session: GatewaySession, tls: TlsRecord) {
    this.#session = session;
    const ctx: SniffContext = {
      config: session.config,
      endpoints: session.endpoints,
      now: () => session.now(),
      emit: (unit: RecordUnit) => {
        unit.proto = 'tls';
        unit.tls = { ...tls, certificates: tls.certificates.map((c) => ({ ...c })) };
        session.emit(unit);
      },
      parseError: (proto, code) => {
        session.parseError(proto, code);
      },
    };
    this.#sniffer = new ProtocolDetector(ctx, snifferFactories);
  }

  data(side: Side, chunk: Buffer): void {
    if (side === Side.Client) this.#session.countIn(chunk.length);
    else this.#session.countOut(chunk.length);
    if (!this.#ended[side] && chunk.length > 0 && this.#sniffer.wants(side)) {
      this.#sniffer.data(side, chunk);
    }
  }

  end(side: Side): void {
    if (this.#ended[side]) return;
    this.#ended[side] = true;
    this.#sniffer.end(side);
  }

  /** Both sides over: the sniffer emits what it still holds. */
  close(): void {
    this.end(Side.Client);
    this.end(Side.Server);
  }
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
