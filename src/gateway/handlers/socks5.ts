/**
 * `socks5` handler (RFC 1928 CONNECT, RFC 1929 username/password).
 *
 *   accept ─► greeting ─► method: 0x02 when users are configured (else 0x00); none offered → 0xFF
 *          ─► [auth] ─► 0x01 0x00, or 0x01 0x01 and close
 *          ─► request: CONNECT only (else 0x07) ─► bypass (0x02 "not allowed") ─► dial
 *             (refused 0x05, unreachable 0x03/0x04, timeout 0x06) ─► reply 0x00 + bound address
 *          ─► [sniffing] peek ─► bypass on the sniffed host (closed, err recorded) ─► MITM hook
 *          ─► relay
 *
 * The whole negotiation must finish within `handshakeTimeout` (a client trickling bytes is cut).
 * Negotiation bytes count toward the record's totals but are not sniffed; the `host` is the
 * requested target, `clientID` the authenticated user.
 */
import type { Socket } from 'node:net';
import { joinHostPort } from '../../record/record-builder.ts';
import { authenticate } from '../auth.ts';
import { ipText } from '../gateway-sniffer.ts';
import type { ConnectionHandler, GatewayConnection } from '../connection.ts';
import {
  checkTarget,
  deadline,
  dialUpstream,
  interceptTls,
  relayTo,
  sniffClient,
  sniffedHost,
} from '../connection.ts';
import {
  AUTH_VERSION,
  Command,
  Method,
  Reply,
  SOCKS_VERSION,
  Socks5Parser,
  socksReply,
} from './socks5-parser.ts';

interface Negotiated {
  host: string;
  port: number;
  /** Bytes the client sent after its request. */
  rest: Buffer;
}

export const handleSocks5: ConnectionHandler = async (conn) => {
  const { session, socket } = conn;
  const handshakeMs = conn.service.config.handler.handshakeTimeoutMs;
  const cancel = deadline(handshakeMs, () => {
    session.err = 'socks5: handshake timeout';
    socket.destroy();
  });
  const req = await negotiate(conn);
  if (req === null) {
    cancel();
    return;
  }
  const target = joinHostPort(req.host, req.port);
  session.host = target;
  if (!checkTarget(conn, target)) {
    cancel();
    reply(conn, Reply.NotAllowed);
    return;
  }
  const upstream = await dialUpstream(conn, req.host, req.port, target);
  cancel();
  if (upstream === null) {
    reply(conn, replyForDialError(session.err));
    return;
  }
  reply(conn, Reply.Succeeded, upstream);
  const peek = await sniffClient(conn, req.rest);
  const sniffed = sniffedHost(peek, req.port);
  if (sniffed !== '' && !checkTarget(conn, sniffed)) {
    upstream.destroy();
    return;
  }
  if (await interceptTls(conn, peek, sniffed !== '' ? sniffed : target, upstream)) return;
  await relayTo(conn, upstream, peek?.bytes ?? req.rest);
};

/** Runs greeting, auth and request; null when the client was refused or left. */
function negotiate(conn: GatewayConnection): Promise<Negotiated | null> {
  const { session, socket } = conn;
  const users = conn.service.config.handler.users;
  const parser = new Socks5Parser();
  return new Promise((resolve) => {
    let done = false;
    const finish = (result: Negotiated | null): void => {
      if (done) return;
      done = true;
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      resolve(result);
    };
    const refuse = (bytes: Buffer | null, err: string): void => {
      session.err = `socks5: ${err}`;
      if (bytes !== null) write(conn, bytes);
      socket.end();
      finish(null);
    };
    const onClose = (): void => {
      session.err ||= 'socks5: client closed during negotiation';
      finish(null);
    };
    const onData = (chunk: Buffer): void => {
      session.countIn(chunk.length);
      parser.push(chunk);
      for (let msg = parser.next(); msg !== null && !done; msg = parser.next()) {
        switch (msg.type) {
          case 'error':
            refuse(msg.reply === Reply.GeneralFailure ? null : socksReply(msg.reply), msg.message);
            return;
          case 'greeting': {
            const wanted = users.length > 0 ? Method.UserPass : Method.NoAuth;
            if (!msg.methods.includes(wanted)) {
              refuse(Buffer.from([SOCKS_VERSION, Method.NoAcceptable]), 'no acceptable method');
              return;
            }
            parser.selectMethod(wanted);
            write(conn, Buffer.from([SOCKS_VERSION, wanted]));
            break;
          }
          case 'auth':
            if (!authenticate(users, msg.username, msg.password)) {
              refuse(Buffer.from([AUTH_VERSION, 1]), `authentication failed for "${msg.username}"`);
              return;
            }
            session.clientID = msg.username;
            write(conn, Buffer.from([AUTH_VERSION, 0]));
            break;
          case 'request':
            if (msg.command !== Command.Connect) {
              refuse(socksReply(Reply.CommandNotSupported), `command ${msg.command} not supported`);
              return;
            }
            finish({ host: msg.host, port: msg.port, rest: parser.rest() });
            return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

function write(conn: GatewayConnection, bytes: Buffer): void {
  conn.session.countOut(bytes.length);
  conn.socket.write(bytes);
}

function reply(conn: GatewayConnection, code: number, upstream?: Socket): void {
  const ip = upstream ? ipText(upstream.localAddress ?? '0.0.0.0') : '0.0.0.0';
  write(conn, socksReply(code, ip, upstream?.localPort ?? 0));
  if (code !== Reply.Succeeded) conn.socket.end();
}

/** The reply code for a dial error (its text carries Node's errno name). */
function replyForDialError(err: string): number {
  if (/ECONNREFUSED/.test(err)) return Reply.ConnectionRefused;
  if (/ENETUNREACH/.test(err)) return Reply.NetworkUnreachable;
  if (/EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/.test(err)) return Reply.HostUnreachable;
  if (/i\/o timeout/.test(err)) return Reply.TtlExpired;
  return Reply.GeneralFailure;
}
