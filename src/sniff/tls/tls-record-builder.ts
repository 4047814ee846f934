/**
 * Turns what a sniffer saw of a handshake into the record's `tls` object: GOST's keys
 * (gost-compat.md §1.5) followed by tapgate's extensions (record-types.ts `TlsRecord`).
 */
import type { CertificateRecord, RecordUnit, TlsRecord } from '../../record/record-types.ts';
import { copyTime, type SniffContext, type Timestamp } from '../sniffer.ts';
import type { ClientHello } from './client-hello.ts';
import { ja3sString, ja3String, ja4, md5Hex, type Ja4Transport } from './fingerprints.ts';
import type { ServerHello } from './server-hello.ts';
import { cipherSuiteName, tlsVersionName } from './tls-names.ts';
import { isGrease } from './tls-protocol.ts';

export interface HandshakeView {
  clientHello: ClientHello | null;
  serverHello: ServerHello | null;
  certificates: CertificateRecord[];
  /**
   * Lowercase hex of the first client / server record, header included ('' when none); for QUIC,
   * of the first datagram of each side, as GOST writes it.
   */
  clientRecordHex: string;
  serverRecordHex: string;
}

export function buildTlsRecord(view: HandshakeView, transport: Ja4Transport): TlsRecord {
  const ch = view.clientHello;
  const sh = view.serverHello;
  const alpnOffered = ch?.alpn ?? [];
  const alpnSelected = sh?.alpn ?? '';
  let clientVersions: string[] = [];
  if (ch !== null) {
    const offered = ch.supportedVersions.length > 0 ? ch.supportedVersions : [ch.legacyVersion];
    clientVersions = offered.filter((v) => !isGrease(v)).map(tlsVersionName);
  }
  const ja3 = ch === null ? '' : ja3String(ch);
  const ja3s = sh === null ? '' : ja3sString(sh);
  return {
    serverName: ch?.serverName ?? '',
    cipherSuite: sh === null ? '' : cipherSuiteName(sh.cipherSuite),
    compressionMethod: sh?.compressionMethod ?? 0,
    proto: alpnSelected !== '' ? alpnSelected : (alpnOffered[0] ?? ''),
    version: sh === null ? '' : tlsVersionName(sh.selectedVersion),
    clientHello: view.clientRecordHex,
    serverHello: view.serverRecordHex,
    clientVersions,
    clientCiphers: (ch?.cipherSuites ?? []).filter((v) => !isGrease(v)).map(cipherSuiteName),
    alpnOffered,
    alpnSelected,
    clientExtensions: ch?.extensions ?? [],
    ja3,
    ja3Hash: ja3 === '' ? '' : md5Hex(ja3),
    ja3s,
    ja3sHash: ja3s === '' ? '' : md5Hex(ja3s),
    ja4: ch === null ? '' : ja4(ch, transport),
    certificates: view.certificates,
  };
}

/**
 * The connection-scope record of a handshake seen over TCP (`tls`, transport 't') or in QUIC
 * Initial packets (`quic`, transport 'q'), closed now. The host is the SNI with the server's port.
 */
export function handshakeRecordUnit(
  ctx: SniffContext,
  proto: 'tls' | 'quic',
  view: HandshakeView,
  start: Timestamp,
  err: string,
): RecordUnit {
  const tls = buildTlsRecord(view, proto === 'quic' ? 'q' : 't');
  return {
    proto,
    scope: 'connection',
    host: tls.serverName === '' ? '' : `${tls.serverName}:${ctx.endpoints.serverPort}`,
    clientIP: '',
    tls,
    // Scope 'connection': the record builder fills bytes and times from the flow.
    inputBytes: 0,
    outputBytes: 0,
    start,
    end: copyTime(ctx.now()),
    err,
  };
}
