/**
 * `sni` handler: routes by the name the client sends, the TLS SNI or the HTTP Host header
 * (GOST's SNI proxy, which also takes plain HTTP). It always sniffs.
 *
 *   accept ─► peek (≤ sniffing.timeout) ─► name: SNI → `name:443`, Host → `name:80` (a Host with
 *             a port keeps it) ─► bypass ─► MITM hook ─► forwarder node whose `host` matches, else
 *             a node without one; without `forwarder`, the name itself ─► dial ─► relay
 *
 * No name (neither TLS with SNI nor HTTP with Host), or a client that stays silent: the connection
 * is closed with `err` recorded, as GOST does.
 */
import type { ConnectionHandler } from '../connection.ts';
import {
  candidateNodes,
  checkTarget,
  dialNodes,
  dialUpstream,
  hostOnly,
  interceptTls,
  relayTo,
  sniffClient,
  sniffedHost,
} from '../connection.ts';

const EMPTY = Buffer.alloc(0);

export const handleSni: ConnectionHandler = async (conn) => {
  const { session, service } = conn;
  const peek = await sniffClient(conn, EMPTY);
  if (peek === null || peek.kind === 'closed') return;
  const protocol = peek.kind === 'tls' ? 'tls' : peek.kind === 'http' ? 'http' : '';
  const target = sniffedHost(peek, protocol === 'tls' ? 443 : 80);
  if (target === '') {
    session.err =
      peek.kind === 'silent'
        ? 'sni: the client sent nothing'
        : `sni: no server name (${peek.kind})`;
    return;
  }
  session.host = target;
  if (!checkTarget(conn, target)) return;
  if (await interceptTls(conn, peek, target, null)) return;
  let upstream;
  if (service.config.forwarder.length > 0) {
    upstream = await dialNodes(conn, candidateNodes(service, target, protocol));
  } else {
    const port = Number(target.slice(target.lastIndexOf(':') + 1));
    upstream = await dialUpstream(conn, hostOnly(target), port, target);
  }
  if (upstream === null) return;
  // Names without a port in records get the protocol's own (Host + :80, SNI + :443), as GOST.
  if (protocol !== '') session.setTarget(session.endpoints.serverIp, protocol === 'tls' ? 443 : 80);
  await relayTo(conn, upstream, peek.bytes);
};
