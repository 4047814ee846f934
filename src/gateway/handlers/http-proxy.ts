/**
 * `http` handler: an HTTP/1.1 forward proxy (absolute-form requests) and CONNECT tunnels.
 *
 *   client bytes ─► session tee (the HTTP/1 sniffer records every exchange)
 *               └─► raw queue ─► MessageParser(Request): heads and message ends, as stream offsets
 *                                   │
 *   pump (one request at a time, in order) ◄─┘
 *     head: auth (407) ─► target from the absolute URI or CONNECT authority (400) ─► bypass (403)
 *           ─► CONNECT: dial (503), `200 Connection established`, then the tunnel steps of
 *              connection.ts (peek, sniffed-host bypass, MITM hook, relay)
 *           ─► otherwise: reuse the upstream of the same host:port, or wait for the responses in
 *              flight and dial a new one (503) ─► head rewritten (origin-form target,
 *              Proxy-Authorization and Proxy-Connection removed, Host added if missing) ─► body
 *              bytes forwarded raw (chunked framing untouched) up to the message end
 *   upstream bytes ─► session tee ─► client; MessageParser(Response) finds each response's end:
 *     interim 1xx passed on; 101 to an Upgrade request ─► raw relay both ways; `Connection: close`,
 *     HTTP/1.0 or a read-until-close body ─► the client connection closes after that response
 *
 * Records come from the tee: one per exchange with its own byte counts (not cumulative), the URI
 * as the client sent it (absolute-form, scheme `http`), statusCode 407/403/400/502/503/504 for the
 * gateway's own answers (with `err`), `Proxy-Authorization` removed (identity → `clientID`). A
 * CONNECT becomes one record with the tunnel's (see gateway-sniffer.ts).
 *
 * Limits: each request head must arrive within `handshakeTimeout` of its first byte (the first one
 * of the connection), and within 64 KiB (the parser's limit); `readTimeout` bounds the wait for a
 * response head; `idleTimeout` closes a connection with no traffic; client reading pauses while
 * more than MAX_QUEUED_BYTES wait to be forwarded or the upstream's buffer is full.
 */
import type { Socket } from 'node:net';
import { joinHostPort } from '../../record/record-builder.ts';
import { ChunkQueue } from '../../sniff/chunk-queue.ts';
import { BodyKind, requestFraming, responseFraming } from '../../sniff/http1/http1-framing.ts';
import {
  After,
  MessageKind,
  MessageParser,
  type HeadVerdict,
  type MessageHead,
  type MessageSink,
} from '../../sniff/http1/http1-message-parser.ts';
import { Http1Sniffer } from '../../sniff/http1/http1-sniffer.ts';
import { listMembers } from '../../sniff/http1/http1-syntax.ts';
import { Side } from '../../sniff/sniffer.ts';
import { basicProxyUser } from '../auth.ts';
import type { ConnectionHandler, GatewayConnection } from '../connection.ts';
import {
  checkTarget,
  deadline,
  dialUpstream,
  factoriesFor,
  interceptTls,
  relayTo,
  sniffClient,
  sniffedHost,
} from '../connection.ts';
import type { GatewaySession } from '../gateway-sniffer.ts';

/** Client bytes queued for forwarding before reading pauses. */
const MAX_QUEUED_BYTES = 256 * 1024;
const PROXY_AGENT = 'tapgate';
const NO_BODY = { kind: BodyKind.None, length: 0, contentLength: 0 };
/** The request parser's `err` for a head over MAX_HEADER_BYTES (64 KiB). */
const ERR_HEADER_TOO_LARGE = 'header too large';
/** Request header lines dropped before forwarding (hop-by-hop toward the proxy). */
const PROXY_HEADERS = new Set(['proxy-authorization', 'proxy-connection']);

type Segment =
  | { type: 'head'; head: MessageHead; end: number; switching: boolean; close: boolean }
  | { type: 'end'; end: number }
  | { type: 'error'; err: string }
  | { type: 'eof' };

interface Upstream {
  socket: Socket;
  key: string;
  parser: MessageParser;
  /** The response being read is an interim 1xx. */
  interim: boolean;
  /** A response has begun and not ended. */
  responding: boolean;
  /** Close the client after the response being read. */
  closeAfter: boolean;
  /** The response being read is a 101. */
  switched: boolean;
  cancelRead: () => void;
  /** Stops reading responses (the relay takes the socket over). */
  detach: () => void;
}

interface Request {
  upstream: Upstream;
  /** Stream offset where its body ends; null until the parser found it. */
  end: number | null;
  /** Upgrade request: what follows depends on the response. */
  switching: boolean;
}

interface Pending {
  method: string;
  close: boolean;
}

export const handleHttpProxy: ConnectionHandler = (conn) => new HttpProxy(conn).run();

class HttpProxy {
  readonly #conn: GatewayConnection;
  readonly #client: Socket;
  readonly #session: GatewaySession;
  readonly #raw = new ChunkQueue();
  /** Stream offset of the first byte in #raw. */
  #rawBase = 0;
  /** Stream offset where the message being parsed began. */
  #msgStart = 0;
  readonly #segments: Segment[] = [];
  readonly #requests: MessageParser;
  #pumping = false;
  #current: Request | null = null;
  #upstream: Upstream | null = null;
  readonly #pending: Pending[] = [];
  #idleWaiters: (() => void)[] = [];
  /** An Upgrade request was forwarded: requests wait for its response. */
  #awaitingSwitch = false;
  /** Writing to the upstream is blocked until 'drain'. */
  #blocked = false;
  #clientEnded = false;
  #closing = false;
  /** The connection became a tunnel (CONNECT or 101): this class is done with it. */
  #tunnel = false;
  #cancelHead: () => void = () => undefined;
  #resolve: () => void = () => undefined;

  constructor(conn: GatewayConnection) {
    this.#conn = conn;
    this.#client = conn.socket;
    this.#session = conn.session;
    const sniffing = conn.service.config.handler.sniffing.enabled;
    this.#session.attach(new Http1Sniffer(this.#session, factoriesFor(sniffing)));
    // Host headers without a port name port 80 (GOST's `host`).
    this.#session.setTarget(this.#session.endpoints.serverIp, 80);
    this.#requests = new MessageParser(this.#session, MessageKind.Request, this.#requestSink());
  }

  run(): Promise<void> {
    const client = this.#client;
    const cfg = this.#conn.service.config.handler;
    return new Promise((resolve) => {
      this.#resolve = resolve;
      client.on('data', this.#onClientData);
      client.once('end', this.#onClientEnd);
      client.once('close', () => {
        this.#shutdown();
      });
      if (cfg.idleTimeoutMs > 0) {
        client.setTimeout(cfg.idleTimeoutMs, () => {
          this.#fail('idle timeout');
        });
      }
      this.#armHeadDeadline();
      client.resume();
    });
  }

  // ── client side ───────────────────────────────────────────────────────────────────────────

  readonly #onClientData = (chunk: Buffer): void => {
    this.#session.fromClient(chunk);
    if (this.#closing) return;
    this.#raw.push(chunk);
    this.#requests.data(chunk);
    this.#flowControl();
    this.#kick();
  };

  readonly #onClientEnd = (): void => {
    this.#session.end(Side.Client);
    this.#requests.end();
    this.#kick();
  };

  /** The next request head must be complete within handshakeTimeout (slowloris). */
  #armHeadDeadline(): void {
    this.#cancelHead();
    this.#cancelHead = deadline(this.#conn.service.config.handler.handshakeTimeoutMs, () => {
      // Not the client's fault while the gateway itself stopped reading (backpressure).
      if (this.#blocked || this.#raw.size >= MAX_QUEUED_BYTES) this.#armHeadDeadline();
      else this.#fail('request head timeout');
    });
  }

  #requestSink(): MessageSink {
    return {
      messageBegin: () => {
        if (this.#msgStart > 0) this.#armHeadDeadline();
      },
      head: (head, wire) => this.#onHead(head, wire),
      body: () => undefined,
      bodyGap: () => undefined,
      messageEnd: (wire, err) => {
        if (err !== '') {
          this.#segments.push({ type: 'error', err });
          return;
        }
        this.#msgStart += wire;
        this.#segments.push({ type: 'end', end: this.#msgStart });
      },
      truncatedHead: (_head, _wire, err) => {
        this.#segments.push({ type: 'error', err });
      },
      stopped: (err) => {
        this.#segments.push(err === '' ? { type: 'eof' } : { type: 'error', err });
      },
    };
  }

  #onHead(head: MessageHead, wire: number): HeadVerdict {
    this.#cancelHead();
    // requestFraming edits the parsed header map only; the raw head is what gets forwarded.
    const framing = requestFraming(head.header, () => undefined);
    if (typeof framing === 'string') return { framing, after: After.Next };
    const switching = head.method === 'CONNECT' || head.header.has('Upgrade');
    this.#segments.push({
      type: 'head',
      head,
      end: this.#msgStart + wire,
      switching,
      close: wantsClose(head),
    });
    return { framing, after: switching ? After.Pause : After.Next };
  }

  /** Pause reading while too much waits or the upstream is full; resume otherwise. */
  #flowControl(): void {
    if (this.#tunnel) return;
    if (this.#blocked || this.#raw.size >= MAX_QUEUED_BYTES) this.#client.pause();
    else this.#client.resume();
  }

  // ── the request pump ──────────────────────────────────────────────────────────────────────

  /** Runs the pump; a bug in it closes this connection instead of the process. */
  #kick(): void {
    this.#pump().catch(this.#crashed);
  }

  readonly #crashed = (e: unknown): void => {
    this.#fail(`internal error: ${e instanceof Error ? e.message : String(e)}`);
    this.#resolve();
  };

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (!this.#closing && !this.#tunnel) {
        const seg = this.#segments[0];
        const cur = this.#current;
        if (cur !== null) {
          if (cur.end === null && seg?.type === 'end') {
            cur.end = seg.end;
            this.#segments.shift();
          } else if (cur.end === null && seg?.type === 'error') {
            // The client left in the middle of a request body: it cannot be completed.
            this.#fail(`request body: ${seg.err}`);
            break;
          }
          const limit = cur.end ?? this.#rawBase + this.#raw.size;
          if (!this.#forward(cur.upstream, limit) || cur.end === null) break;
          this.#current = null;
          if (cur.switching) this.#awaitingSwitch = true;
          continue;
        }
        if (this.#awaitingSwitch || seg === undefined) break;
        this.#segments.shift();
        switch (seg.type) {
          case 'head':
            await this.#startRequest(seg);
            break;
          case 'end':
            // The end of a request answered by the gateway itself: its bytes are not forwarded.
            this.#drop(seg.end);
            break;
          case 'error':
            if (seg.err === ERR_HEADER_TOO_LARGE) {
              await this.#respond(431, 'Request Header Fields Too Large', seg.err);
            } else {
              await this.#respond(400, 'Bad Request', `bad request: ${seg.err}`);
            }
            break;
          case 'eof':
            this.#clientEnded = true;
            if (this.#pending.length === 0) this.#close();
            break;
        }
      }
    } finally {
      this.#pumping = false;
      this.#flowControl();
    }
  }

  /** Forwards queued raw bytes up to stream offset `limit`; false when the upstream is full. */
  #forward(up: Upstream, limit: number): boolean {
    while (this.#rawBase < limit && this.#raw.size > 0) {
      const view = this.#raw.consumeView(limit - this.#rawBase);
      this.#rawBase += view.length;
      if (!up.socket.write(view)) {
        this.#blocked = true;
        up.socket.once('drain', () => {
          this.#blocked = false;
          this.#flowControl();
          this.#kick();
        });
        return false;
      }
    }
    return true;
  }

  /** Discards queued bytes up to stream offset `end`. */
  #drop(end: number): void {
    this.#rawBase += this.#raw.skip(end - this.#rawBase);
  }

  async #startRequest(seg: Extract<Segment, { type: 'head' }>): Promise<void> {
    const head = seg.head;
    const cfg = this.#conn.service.config.handler;
    if (cfg.users.length > 0) {
      const user = basicProxyUser(cfg.users, head.header.get('Proxy-Authorization'));
      if (user === null) {
        await this.#respond(407, 'Proxy Authentication Required', 'proxy authentication required');
        return;
      }
      this.#session.clientID = user;
    }
    const target = head.method === 'CONNECT' ? authority(head.uri) : absoluteTarget(head.uri);
    if (target === null) {
      await this.#respond(400, 'Bad Request', `not a proxy request: ${head.method} ${head.uri}`);
      return;
    }
    const key = joinHostPort(target.host, target.port);
    this.#session.host = key;
    if (!checkTarget(this.#conn, key)) {
      await this.#respond(403, 'Forbidden', this.#session.err);
      return;
    }
    if (head.method === 'CONNECT') {
      await this.#connect(seg, target.host, target.port, key);
      return;
    }
    let up = this.#upstream;
    if (up === null || up.key !== key || up.socket.destroyed) {
      await this.#idle();
      if (this.#closing) return;
      this.#dropUpstream();
      const socket = await dialUpstream(this.#conn, target.host, target.port, key);
      if (socket === null) {
        await this.#respond(503, 'Service Unavailable', this.#session.err);
        return;
      }
      up = this.#adopt(socket, key);
    }
    this.#session.setUpstream(up.socket, key);
    this.#session.setTarget(this.#session.endpoints.serverIp, 80);
    const rawHead = this.#raw.consume(seg.end - this.#rawBase);
    this.#rawBase = seg.end;
    up.socket.write(rewriteHead(rawHead, target.path, key));
    if (this.#pending.length === 0) this.#armRead(up);
    this.#pending.push({ method: head.method, close: seg.close });
    this.#current = { upstream: up, end: null, switching: seg.switching };
  }

  /** CONNECT: dial, answer 200, then the connection is a tunnel. */
  async #connect(
    seg: Extract<Segment, { type: 'head' }>,
    host: string,
    port: number,
    key: string,
  ): Promise<void> {
    await this.#idle();
    if (this.#closing) return;
    this.#dropUpstream();
    const upstream = await dialUpstream(this.#conn, host, port, key);
    if (upstream === null) {
      await this.#respond(503, 'Service Unavailable', this.#session.err);
      return;
    }
    // Everything after the CONNECT head belongs to the tunnel.
    this.#drop(seg.end);
    const prefix = Buffer.concat(this.#raw.drain());
    this.#enterTunnel();
    this.#toClient(
      Buffer.from(
        `HTTP/1.1 200 Connection established\r\nProxy-Agent: ${PROXY_AGENT}\r\n\r\n`,
        'latin1',
      ),
    );
    try {
      const conn = this.#conn;
      const peek = await sniffClient(conn, prefix);
      const sniffed = sniffedHost(peek, port);
      if (sniffed !== '' && !checkTarget(conn, sniffed)) {
        upstream.destroy();
        this.#client.destroy();
        return;
      }
      if (await interceptTls(conn, peek, sniffed !== '' ? sniffed : key, upstream)) return;
      await relayTo(conn, upstream, peek?.bytes ?? prefix);
    } finally {
      this.#resolve();
    }
  }

  /** Stops HTTP processing: the client socket now belongs to the relay. */
  #enterTunnel(): void {
    this.#tunnel = true;
    this.#cancelHead();
    this.#client.off('data', this.#onClientData);
    this.#client.off('end', this.#onClientEnd);
    this.#client.setTimeout(0);
    this.#client.pause();
    this.#requests.drain();
  }

  // ── upstream side ─────────────────────────────────────────────────────────────────────────

  #adopt(socket: Socket, key: string): Upstream {
    const onData = (chunk: Buffer): void => {
      if (this.#tunnel) return;
      this.#toClient(chunk);
      if (this.#client.writableNeedDrain) {
        socket.pause();
        this.#client.once('drain', () => socket.resume());
      }
      up.parser.data(chunk);
    };
    // `parser` is set right below: its sink needs `up`.
    const up = {
      socket,
      key,
      interim: false,
      responding: false,
      closeAfter: false,
      switched: false,
      cancelRead: () => undefined,
      detach: () => socket.off('data', onData),
    } as Omit<Upstream, 'parser'> as Upstream;
    up.parser = new MessageParser(this.#session, MessageKind.Response, this.#responseSink(up));
    this.#upstream = up;
    socket.on('data', onData);
    socket.once('end', () => {
      if (this.#tunnel) return;
      up.parser.end();
      this.#upstreamGone(up, 'upstream closed the connection');
    });
    socket.once('close', () => {
      this.#upstreamGone(up, 'upstream closed the connection');
    });
    socket.on('error', (e: Error) => {
      this.#upstreamGone(up, `upstream: ${e.message}`);
    });
    return up;
  }

  #responseSink(up: Upstream): MessageSink {
    return {
      messageBegin: () => {
        up.cancelRead();
        up.responding = true;
      },
      head: (head) => {
        if (head.status >= 100 && head.status < 200 && head.status !== 101) {
          up.interim = true;
          return { framing: NO_BODY, after: After.Next };
        }
        const req = this.#pending[0];
        const framing = responseFraming(
          head.header,
          head.status,
          req?.method ?? 'GET',
          () => undefined,
        );
        if (typeof framing === 'string') return { framing, after: After.Next };
        up.switched = head.status === 101;
        up.closeAfter =
          (req?.close ?? false) || wantsClose(head) || framing.kind === BodyKind.UntilClose;
        return { framing, after: up.switched ? After.HandOver : After.Next };
      },
      body: () => undefined,
      bodyGap: () => undefined,
      messageEnd: (_wire, err) => {
        if (up.interim) {
          up.interim = false;
          return;
        }
        up.responding = false;
        this.#pending.shift();
        if (err !== '') {
          this.#fail(`upstream: ${err}`);
        } else if (up.switched) {
          this.#upgrade(up).catch(this.#crashed);
        } else if (up.closeAfter) {
          this.#close();
        } else {
          this.#responded(up);
        }
      },
      truncatedHead: () => undefined,
      stopped: (err) => {
        if (err !== '' && !this.#tunnel) this.#fail(`upstream: ${err}`);
      },
    };
  }

  /** A response ended and the connection stays open. */
  #responded(up: Upstream): void {
    if (this.#pending.length > 0) {
      this.#armRead(up);
      return;
    }
    for (const w of this.#idleWaiters.splice(0)) w();
    if (this.#awaitingSwitch) {
      // The Upgrade was declined: what the client sent next is HTTP/1 again.
      this.#awaitingSwitch = false;
      this.#requests.resume();
    }
    if (this.#clientEnded) this.#close();
    else this.#kick();
  }

  /** 101 Switching Protocols: both sides are relayed raw from here (the sniffer reads on). */
  async #upgrade(up: Upstream): Promise<void> {
    up.detach();
    up.socket.pause();
    // The upgrade request was forwarded whole: what is queued came after it.
    const prefix = Buffer.concat(this.#raw.drain());
    this.#enterTunnel();
    this.#upstream = null;
    await relayTo(this.#conn, up.socket, prefix);
    this.#resolve();
  }

  #armRead(up: Upstream): void {
    up.cancelRead();
    up.cancelRead = deadline(this.#conn.service.config.handler.readTimeoutMs, () => {
      if (up.responding) return;
      this.#pending.length = 0;
      this.#answerNow(504, 'Gateway Timeout', 'timeout awaiting response headers');
    });
  }

  #upstreamGone(up: Upstream, why: string): void {
    if (this.#upstream !== up || this.#tunnel) return;
    this.#upstream = null;
    up.cancelRead();
    up.socket.destroy();
    if (this.#pending.length === 0) return; // an idle keep-alive connection closed: redial later
    if (!up.responding) {
      this.#pending.length = 0;
      this.#answerNow(502, 'Bad Gateway', why);
    } else {
      this.#fail(why);
    }
  }

  #dropUpstream(): void {
    const up = this.#upstream;
    if (up === null) return;
    this.#upstream = null;
    up.cancelRead();
    up.socket.destroy();
  }

  // ── answers and shutdown ──────────────────────────────────────────────────────────────────

  /** Resolves when no response is outstanding (or the connection is closing). */
  #idle(): Promise<void> {
    if (this.#pending.length === 0 || this.#closing) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** The gateway's own answer to the current request, after those in flight; then close. */
  async #respond(status: number, reason: string, err: string): Promise<void> {
    await this.#idle();
    this.#answerNow(status, reason, err);
  }

  #answerNow(status: number, reason: string, err: string): void {
    if (this.#closing || this.#tunnel) return;
    this.#session.failNextUnit(err);
    const challenge = status === 407 ? `Proxy-Authenticate: Basic realm="${PROXY_AGENT}"\r\n` : '';
    this.#toClient(
      Buffer.from(
        `HTTP/1.1 ${status} ${reason}\r\n${challenge}Proxy-Agent: ${PROXY_AGENT}\r\n` +
          'Content-Length: 0\r\nConnection: close\r\n\r\n',
        'latin1',
      ),
    );
    this.#close();
  }

  #toClient(bytes: Buffer): void {
    this.#session.toClient(bytes);
    if (!this.#client.destroyed) this.#client.write(bytes);
  }

  /** Ends the client connection once what was written is flushed. */
  #close(): void {
    if (this.#closing) return;
    this.#stopProcessing();
    this.#client.end();
    // A client that never reads its answer is not waited for.
    setTimeout(() => this.#client.destroy(), 5000).unref();
  }

  #fail(err: string): void {
    if (this.#session.err === '') this.#session.err = err;
    this.#stopProcessing();
    this.#client.destroy();
  }

  /** The client socket closed. */
  #shutdown(): void {
    if (this.#tunnel) return;
    this.#stopProcessing();
    this.#resolve();
  }

  /** No more requests are read or forwarded; the upstream is closed, waiters released. */
  #stopProcessing(): void {
    this.#closing = true;
    this.#cancelHead();
    this.#dropUpstream();
    for (const w of this.#idleWaiters.splice(0)) w();
  }
}

/** `Connection: close`, or HTTP/1.0 without `Connection: keep-alive` (RFC 9112 §9.3). */
function wantsClose(head: MessageHead): boolean {
  const tokens = listMembers(head.header.get('Connection'));
  if (tokens.includes('close')) return true;
  return head.version === 'HTTP/1.0' && !tokens.includes('keep-alive');
}

interface Target {
  host: string;
  port: number;
  /** Origin-form request target for the upstream. */
  path: string;
}

/** `host:port` / `[v6]:port` of a CONNECT request (RFC 9110 §9.3.6: the port is required). */
function authority(uri: string): Target | null {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:/?#@[\]\s]+)):(\d{1,5})$/.exec(uri);
  if (m === null) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? m[2]!, port, path: '' };
}

/** `http://authority/path?query` (absolute-form, RFC 9112 §3.2.2). */
function absoluteTarget(uri: string): Target | null {
  const m = /^http:\/\/([^/?#]*)([^#]*)/i.exec(uri);
  if (m === null) return null;
  const hostport = m[1]!.slice(m[1]!.lastIndexOf('@') + 1);
  const h = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+))(?::(\d{0,5}))?$/.exec(hostport);
  if (h === null) return null;
  const port = h[3] === undefined || h[3] === '' ? 80 : Number(h[3]);
  if (port < 1 || port > 65535) return null;
  let path = m[2]!;
  if (path === '') path = '/';
  else if (path.startsWith('?')) path = `/${path}`;
  return { host: h[1] ?? h[2]!, port, path };
}

/**
 * The request head as the upstream gets it: the request line with the origin-form target, every
 * header line as received except the proxy's own (Proxy-Authorization, Proxy-Connection), and a
 * Host when the client sent none.
 */
export function rewriteHead(raw: Buffer, path: string, host: string): Buffer {
  const lines = raw.toString('latin1').split('\n');
  let i = 0;
  while (i < lines.length && lines[i]!.replace(/\r$/, '') === '') i++; // RFC 9112 §2.2
  const requestLine = lines[i++]!.replace(/\r$/, '');
  const [method = '', , version = 'HTTP/1.1'] = requestLine.split(' ');
  const out = [`${method} ${path} ${version}`];
  let hasHost = false;
  let skipping = false;
  for (; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '');
    if (line === '') break;
    if (line.startsWith(' ') || line.startsWith('\t')) {
      if (!skipping) out.push(line); // obs-fold continues the previous field
      continue;
    }
    const name = line.slice(0, line.indexOf(':')).trim().toLowerCase();
    skipping = PROXY_HEADERS.has(name);
    if (skipping) continue;
    if (name === 'host') hasHost = true;
    out.push(line);
  }
  if (!hasHost) out.push(`Host: ${host}`);
  return Buffer.from(`${out.join('\r\n')}\r\n\r\n`, 'latin1');
}
