/**
 * HTTP/1.x sniffer (RFC 9112): one MessageParser per direction, requests paired with responses in
 * order, one record per exchange (gost-compat.md §1.3), and the hand-over to another sniffer when
 * the connection switches protocol.
 *
 *   client ─► MessageParser(Request) ─► pending[] (≤ 64, oldest first) ─┐
 *   server ─► MessageParser(Response) ─► 1xx: skipped (bytes counted) ──┤
 *                                      final: pending.shift() ──────────┴─► ctx.emit(record)
 *
 * Pairing: an exchange is recorded when its final response ends; exchanges still pending when both
 * sides have ended are recorded with statusCode 0. A response without a request (capture started
 * mid-connection) is recorded with method '' and request.header null.
 *
 * Switching protocols. A request with `Upgrade` or method CONNECT pauses the client parser: what
 * the client sends next is held until the server answers.
 *   101 + websocket ─► WebSocketSniffer; the upgrade is recorded when the connection ends, with the
 *                      byte totals of the whole session
 *   101 + h2c       ─► factories.http2(ctx, upgrade); the HTTP/2 sniffer records it as stream 1
 *   2xx to CONNECT  ─► the CONNECT is recorded, factories.tunnel(ctx) gets both sides
 *   101 otherwise   ─► recorded like CONNECT, factories.tunnel(ctx)
 *   anything else   ─► the client parser resumes on the held bytes (requests read then take the
 *                      resume time as their start)
 * The bytes after the request (held) and after the response head (same chunk) go to the new
 * sniffer; from then on data/gap/end/wants are forwarded to it.
 *
 * Gaps are absorbed inside bodies of known extent. Elsewhere the direction stops: a request cut by
 * the gap keeps its place in the queue (its response can still pair with it) with err 'gap in
 * stream'; on the server side no response can be matched any more, so every pending exchange is
 * recorded at once with that err.
 */
import type { RecordUnit } from '../../record/record-types.ts';
import {
  Side,
  type SnifferFactories,
  type SniffContext,
  type StreamSniffer,
  type Timestamp,
} from '../sniffer.ts';
import { WebSocketSniffer } from '../websocket/websocket-sniffer.ts';
import { bodyCaptureLimit } from '../body-capture.ts';
import { clientIpFromHeaders, hostWithPort } from '../client-ip.ts';
import { Exchange } from './http1-exchange.ts';
import { BodyKind, requestFraming, responseFraming, type Framing } from './http1-framing.ts';
import { MAX_PENDING_REQUESTS } from './http1-limits.ts';
import {
  After,
  MessageKind,
  MessageParser,
  type HeadVerdict,
  type MessageHead,
  type MessageSink,
} from './http1-message-parser.ts';
import { listMembers } from './http1-syntax.ts';

const ERR_TOO_MANY_PENDING = 'too many pending requests';
const NO_BODY: Framing = { kind: BodyKind.None, length: 0, contentLength: 0 };
/** The HTTP/2 connection preface starts like a request line (RFC 9113 §3.4). */
const H2_PREFACE_HEAD = Buffer.from('PRI * HTTP/2.0\r\n\r\n', 'latin1');

/** What the connection turns into after a switching response. */
const Switch = { None: 0, WebSocket: 1, H2c: 2, Tunnel: 3 } as const;
type Switch = (typeof Switch)[keyof typeof Switch];

export class Http1Sniffer implements StreamSniffer {
  readonly #ctx: SniffContext;
  readonly #factories: SnifferFactories;
  readonly #captureLimit: number;
  readonly #requests: MessageParser;
  readonly #responses: MessageParser;
  /** Requests without a final response yet, oldest first. */
  readonly #pending: Exchange[] = [];
  /** The request whose body is being read. */
  #receiving: Exchange | null = null;
  /** The exchange whose final response is being read. */
  #answering: Exchange | null = null;
  /** The response being read is an interim 1xx. */
  #interim = false;
  /** The request after which the client parser is paused. */
  #paused: Exchange | null = null;
  /** What the response being read switches the connection to. */
  #switch: Switch = Switch.None;
  /** The client opened with the HTTP/2 preface. */
  #priorKnowledge = false;
  /** No request has been seen yet (the HTTP/2 preface counts only as the first bytes). */
  #first = true;
  #requestStart: Timestamp = { sec: 0, nsec: 0 };
  #responseStart: Timestamp = { sec: 0, nsec: 0 };
  /** Why the server side stopped; exchanges recorded without a response carry it. */
  #serverErr = '';
  readonly #ended = [false, false];
  /** After a hand-over: the sniffer that reads the connection now. */
  #next: StreamSniffer | null = null;
  /** The client side was lost before the hand-over: its later bytes cannot be placed. */
  #clientLost = false;
  /** A WebSocket upgrade, recorded when the connection ends. */
  #session: Exchange | null = null;

  constructor(ctx: SniffContext, factories: SnifferFactories) {
    this.#ctx = ctx;
    this.#factories = factories;
    this.#captureLimit = bodyCaptureLimit(ctx.config);
    this.#requests = new MessageParser(ctx, MessageKind.Request, this.#requestSink());
    this.#responses = new MessageParser(ctx, MessageKind.Response, this.#responseSink());
  }

  data(side: Side, data: Buffer): void {
    if (this.#next !== null) {
      if (side === Side.Client && this.#clientLost) return;
      this.#countSession(side, data.length);
      this.#next.data(side, data);
      return;
    }
    this.#parser(side).data(data);
  }

  gap(side: Side, bytes: number): void {
    if (this.#next !== null) {
      if (side === Side.Client && this.#clientLost) return;
      this.#countSession(side, bytes);
      this.#next.gap(side, bytes);
      return;
    }
    this.#parser(side).gap(bytes);
  }

  end(side: Side): void {
    this.#ended[side] = true;
    if (this.#next !== null) {
      this.#next.end(side);
    } else {
      this.#parser(side).end();
    }
    if (!this.#ended[Side.Client] || !this.#ended[Side.Server]) return;
    if (this.#session !== null) this.#emit(this.#session);
    this.#session = null;
    this.#flushPending(this.#serverErr);
  }

  wants(side: Side): boolean {
    if (this.#next === null) return !this.#parser(side).stopped;
    return !(side === Side.Client && this.#clientLost) && this.#next.wants(side);
  }

  #parser(side: Side): MessageParser {
    return side === Side.Client ? this.#requests : this.#responses;
  }

  // ── requests ────────────────────────────────────────────────────────────────────────────────

  #requestSink(): MessageSink {
    return {
      messageBegin: () => {
        this.#requestStart = this.#ctx.now();
      },
      head: (head, wire) => this.#requestHead(head, wire),
      body: (bytes) => this.#receiving?.addRequestBody(bytes),
      bodyGap: (bytes) => this.#receiving?.requestBodyGap(bytes),
      messageEnd: (wire, err) => {
        this.#requestEnd(wire, err);
      },
      truncatedHead: (head, wire, err) => {
        const ex = this.#openExchange(head);
        const framing = requestFraming(head.header, ignore);
        if (typeof framing !== 'string') ex.requestContentLength = framing.contentLength;
        ex.inputBytes = wire;
        ex.err = err;
      },
      stopped: ignore,
    };
  }

  #requestHead(head: MessageHead, wire: number): HeadVerdict {
    if (this.#isPreface(head)) {
      this.#priorKnowledge = true;
      return { framing: NO_BODY, after: After.HandOver };
    }
    const ex = this.#openExchange(head);
    ex.inputBytes = wire;
    this.#receiving = ex;
    const framing = requestFraming(head.header, this.#report);
    if (typeof framing !== 'string') ex.requestContentLength = framing.contentLength;
    // What follows CONNECT or an Upgrade request depends on the answer: hold it until then.
    const after =
      head.method === 'CONNECT' || head.header.has('Upgrade') ? After.Pause : After.Next;
    if (after === After.Pause) this.#paused = ex;
    return { framing, after };
  }

  #requestEnd(wire: number, err: string): void {
    if (this.#priorKnowledge) {
      this.#handOver(this.#factories.http2(this.#ctx, null), H2_PREFACE_HEAD);
      return;
    }
    const ex = this.#receiving;
    this.#receiving = null;
    if (ex === null) return;
    ex.inputBytes = wire;
    if (err !== '' && ex.err === '') ex.err = err;
  }

  /** A new request joins the queue; the oldest is given up when the queue is full. */
  #openExchange(head: MessageHead): Exchange {
    if (this.#pending.length >= MAX_PENDING_REQUESTS) {
      this.#ctx.parseError('http', 'too_many_pending');
      const oldest = this.#pending.shift()!;
      if (oldest.err === '') oldest.err = ERR_TOO_MANY_PENDING;
      this.#emit(oldest);
    }
    this.#first = false;
    const ex = new Exchange(this.#requestStart, this.#captureLimit);
    ex.method = head.method;
    ex.uri = head.uri;
    ex.proto = head.version;
    ex.scheme = schemeOf(head.uri);
    ex.host = head.host ?? '';
    ex.unitHost = hostWithPort(ex.host, this.#ctx.endpoints.serverPort);
    ex.clientIP = clientIpFromHeaders(head.header);
    ex.requestHeader = head.header;
    this.#pending.push(ex);
    return ex;
  }

  /** `PRI * HTTP/2.0` as the first request: HTTP/2 with prior knowledge (RFC 9113 §3.4). */
  #isPreface(head: MessageHead): boolean {
    return (
      head.method === 'PRI' &&
      head.uri === '*' &&
      head.version === 'HTTP/2.0' &&
      head.header.size === 0 &&
      this.#first
    );
  }

  // ── responses ───────────────────────────────────────────────────────────────────────────────

  #responseSink(): MessageSink {
    return {
      messageBegin: () => {
        this.#responseStart = this.#ctx.now();
      },
      head: (head) => this.#responseHead(head),
      body: (bytes) => this.#answering?.addResponseBody(bytes),
      bodyGap: (bytes) => this.#answering?.responseBodyGap(bytes),
      messageEnd: (wire, err) => {
        this.#responseEnd(wire, err);
      },
      truncatedHead: (head, wire, err) => {
        if (isInterim(head.status)) {
          this.#addInterimBytes(wire);
          return;
        }
        const ex = this.#answer(head);
        const framing = responseFraming(head.header, head.status, ex.method, ignore);
        if (typeof framing !== 'string') ex.responseContentLength = framing.contentLength;
        ex.outputBytes += wire;
        if (ex.err === '') ex.err = err;
        this.#emit(ex);
      },
      stopped: (err) => {
        this.#responsesStopped(err);
      },
    };
  }

  #responseHead(head: MessageHead): HeadVerdict {
    if (isInterim(head.status)) {
      this.#interim = true;
      return { framing: NO_BODY, after: After.Next };
    }
    const ex = this.#answer(head);
    this.#answering = ex;
    const framing = responseFraming(head.header, head.status, ex.method, this.#report);
    if (typeof framing !== 'string') ex.responseContentLength = framing.contentLength;
    this.#switch = switchOf(ex, head);
    if (this.#switch !== Switch.None) return { framing, after: After.HandOver };
    if (ex === this.#paused) {
      // Upgrade declined or CONNECT refused: what the client sent next is HTTP/1 again.
      this.#paused = null;
      this.#requests.resume();
    }
    return { framing, after: After.Next };
  }

  /** The exchange a final response answers: the oldest pending request, else an orphan. */
  #answer(head: MessageHead): Exchange {
    let ex = this.#pending.shift();
    if (ex === undefined) {
      this.#ctx.parseError('http', 'orphan_response');
      ex = new Exchange(this.#responseStart, this.#captureLimit);
      ex.proto = head.version;
    }
    ex.statusCode = head.status;
    ex.responseHeader = head.header;
    return ex;
  }

  #responseEnd(wire: number, err: string): void {
    if (this.#interim) {
      this.#interim = false;
      this.#addInterimBytes(wire);
      return;
    }
    const ex = this.#answering;
    this.#answering = null;
    if (ex === null) return;
    ex.outputBytes += wire;
    if (err !== '' && ex.err === '') ex.err = err;
    const to = this.#switch;
    this.#switch = Switch.None;
    switch (to) {
      case Switch.None:
        this.#emit(ex);
        return;
      case Switch.WebSocket:
        this.#session = ex;
        this.#handOver(
          new WebSocketSniffer(this.#ctx, {
            host: ex.unitHost,
            clientIP: ex.clientIP,
            http: ex.httpRecord(false),
          }),
          null,
        );
        return;
      case Switch.H2c:
        this.#handOver(this.#factories.http2(this.#ctx, ex.h2cUpgrade()), null);
        return;
      case Switch.Tunnel:
        this.#emit(ex);
        this.#handOver(this.#factories.tunnel(this.#ctx), null);
        return;
    }
  }

  /** Interim responses count toward the exchange they precede. */
  #addInterimBytes(wire: number): void {
    const ex = this.#pending[0];
    if (ex !== undefined) ex.outputBytes += wire;
  }

  #responsesStopped(err: string): void {
    if (err === '') return;
    // No later response can be matched: record what waits for one now.
    this.#serverErr = err;
    this.#flushPending(err);
    // Bytes held for an upgrade whose answer will never be seen cannot be read either.
    if (this.#paused !== null) {
      this.#paused = null;
      this.#requests.abandon(err);
    }
  }

  // ── hand-over and records ───────────────────────────────────────────────────────────────────

  /**
   * The connection switches protocol: `next` gets the bytes held after the request (behind
   * `clientPrefix`, bytes this parser consumed but `next` must see), the bytes after the response
   * head, and any end already seen.
   */
  #handOver(next: StreamSniffer, clientPrefix: Buffer | null): void {
    this.#next = next;
    this.#paused = null;
    this.#clientLost = this.#requests.stopped;
    const held = this.#requests.drain();
    const rest = this.#responses.drain();
    if (!this.#clientLost) {
      if (clientPrefix !== null) this.#forward(Side.Client, clientPrefix);
      for (const chunk of held) this.#forward(Side.Client, chunk);
    }
    for (const chunk of rest) this.#forward(Side.Server, chunk);
    if (this.#ended[Side.Client]) next.end(Side.Client);
    if (this.#ended[Side.Server]) next.end(Side.Server);
  }

  #forward(side: Side, chunk: Buffer): void {
    this.#countSession(side, chunk.length);
    if (this.#next!.wants(side)) this.#next!.data(side, chunk);
  }

  /** A WebSocket upgrade's record counts every byte of the session. */
  #countSession(side: Side, bytes: number): void {
    if (this.#session === null) return;
    if (side === Side.Client) this.#session.inputBytes += bytes;
    else this.#session.outputBytes += bytes;
  }

  #flushPending(err: string): void {
    for (const ex of this.#pending.splice(0)) {
      if (err !== '' && ex.err === '') ex.err = err;
      this.#emit(ex);
    }
  }

  #emit(ex: Exchange): void {
    const unit: RecordUnit = ex.toRecord(this.#ctx.now());
    this.#ctx.emit(unit);
  }

  readonly #report = (code: string): void => {
    this.#ctx.parseError('http', code);
  };
}

function ignore(): void {
  // a parse problem in a message that is already cut short is not worth a second count
}

/** 1xx other than 101 (RFC 9110 §15.2): interim, not the final status. */
function isInterim(status: number): boolean {
  return status >= 100 && status < 200 && status !== 101;
}

/** `http` / `https` (any scheme, lower-cased) of an absolute-form target (RFC 9112 §3.2.2). */
function schemeOf(uri: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri);
  return m === null ? '' : m[1]!.toLowerCase();
}

/** What a final response switches the connection to (RFC 9110 §7.8, §9.3.6, §15.2.2). */
function switchOf(ex: Exchange, head: MessageHead): Switch {
  if (ex.method === 'CONNECT' && head.status >= 200 && head.status < 300) return Switch.Tunnel;
  if (head.status !== 101) return Switch.None;
  // The server names the protocol it switches to; fall back to what the client asked for.
  const offered = listMembers(head.header.get('Upgrade'));
  const protocol =
    offered[0] ??
    (ex.requestHeader === null ? undefined : listMembers(ex.requestHeader.get('Upgrade'))[0]);
  const name = protocol?.split('/')[0];
  if (name === 'websocket') return Switch.WebSocket;
  if (name === 'h2c') return Switch.H2c;
  return Switch.Tunnel;
}
