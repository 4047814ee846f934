/**
 * `red` handler: transparent TCP proxy behind an iptables REDIRECT (or DNAT) rule. The original
 * destination comes from conntrack through SO_ORIGINAL_DST (native addon, `originalDst(fd)`).
 *
 *   accept ─► original destination (none, or the gateway's own address: refuse) ─► [sniffing] peek
 *          ─► bypass on the sniffed host, else on the original destination (§6 #22: domain rules
 *             are evaluated after sniffing) ─► MITM hook
 *          ─► dial `sniffedHost:originalPort`; the original destination when nothing was sniffed,
 *             with `sniffing.dialOriginalDst`, or (`sniffing.fallback`) when that dial fails ─► relay
 *
 * Records: `local` is the listener's own address (REDIRECT rewrote the destination), `dst` the
 * upstream actually dialled, `host` the sniffed host or the original destination.
 */
import type { Socket } from 'node:net';
import { nativeAddon } from '../../capture/native-addon.ts';
import { joinHostPort } from '../../record/record-builder.ts';
import type { ConnectionHandler } from '../connection.ts';
import {
  checkTarget,
  dialUpstream,
  hostOnly,
  interceptTls,
  relayTo,
  sniffClient,
  sniffedHost,
} from '../connection.ts';
import { ipText } from '../gateway-sniffer.ts';

const EMPTY = Buffer.alloc(0);

/** The kernel file descriptor of a connected socket (libuv's TCP handle). */
function fdOf(socket: Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' ? fd : -1;
}

export const handleRed: ConnectionHandler = async (conn) => {
  const { session, socket } = conn;
  const addon = nativeAddon();
  if (addon === null) {
    session.err = 'red: the native addon (SO_ORIGINAL_DST) is not built';
    return;
  }
  let original;
  try {
    original = addon.originalDst(fdOf(socket));
  } catch (e) {
    session.err = `red: SO_ORIGINAL_DST: ${(e as Error).message}`;
    return;
  }
  if (original === null) {
    session.err = 'red: no original destination (not redirected)';
    return;
  }
  const origHost = original.address;
  const origPort = original.port;
  if (ipText(socket.localAddress ?? '') === origHost && socket.localPort === origPort) {
    session.err = 'red: the original destination is the gateway itself';
    return;
  }
  const origText = joinHostPort(origHost, origPort);
  session.host = origText;
  session.setTarget(origHost, origPort);
  const peek = await sniffClient(conn, EMPTY);
  if (peek?.kind === 'closed') return;
  const sniffed = sniffedHost(peek, origPort);
  if (sniffed !== '') session.host = sniffed;
  if (!checkTarget(conn, session.host)) return;
  if (await interceptTls(conn, peek, session.host, null)) return;
  const sniffing = conn.service.config.handler.sniffing;
  let upstream: Socket | null = null;
  if (sniffed !== '' && !sniffing.dialOriginalDst) {
    upstream = await dialUpstream(
      conn,
      hostOnly(sniffed),
      origPort,
      joinHostPort(hostOnly(sniffed), origPort),
    );
    if (upstream === null && !sniffing.fallback) return;
  }
  upstream ??= await dialUpstream(conn, origHost, origPort, origText);
  if (upstream === null) return;
  await relayTo(conn, upstream, peek?.bytes ?? EMPTY);
};
