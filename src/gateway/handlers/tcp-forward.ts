/**
 * `tcp` handler: port forwarding to the fixed `forwarder.nodes` (GOST's local TCP forwarding).
 *
 *   accept ─► [sniffing] peek (≤ sniffing.timeout) ─► sniffed host: bypass, node choice by
 *             `host`/`filter.host` (reverse proxy), MITM hook ─► dial nodes in turn ─► relay
 *
 * Without sniffing the nodes are dialled at once, in round-robin order. A client that stays silent
 * (a server-speaks-first protocol) is relayed raw once the peek times out.
 */
import { joinHostPort } from '../../record/record-builder.ts';
import type { ConnectionHandler } from '../connection.ts';
import {
  candidateNodes,
  checkTarget,
  dialNodes,
  interceptTls,
  relayTo,
  sniffClient,
  sniffedHost,
} from '../connection.ts';

const EMPTY = Buffer.alloc(0);

export const handleTcpForward: ConnectionHandler = async (conn) => {
  const { session, service } = conn;
  const peek = await sniffClient(conn, EMPTY);
  if (peek?.kind === 'closed') return;
  const protocol = peek?.kind === 'tls' ? 'tls' : peek?.kind === 'http' ? 'http' : '';
  const sniffed = sniffedHost(peek, protocol === 'tls' ? 443 : 80);
  if (!checkTarget(conn, sniffed)) return;
  const nodes = candidateNodes(service, sniffed, protocol);
  const first = nodes[0]?.addr;
  session.host = sniffed !== '' ? sniffed : first ? joinHostPort(first.host, first.port) : '';
  if (await interceptTls(conn, peek, session.host, null)) return;
  const upstream = await dialNodes(conn, nodes);
  if (upstream === null) return;
  if (sniffed === '') session.host = session.route;
  // Names without a port in records get the protocol's own (Host + :80, SNI + :443), as GOST.
  if (protocol !== '') session.setTarget(session.endpoints.serverIp, protocol === 'tls' ? 443 : 80);
  await relayTo(conn, upstream, peek?.bytes ?? EMPTY);
};
