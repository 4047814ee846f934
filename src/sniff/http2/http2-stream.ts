/**
 * One HTTP/2 stream as the sniffer follows it (RFC 9113 §5.1), and the record it becomes.
 *
 * A stream exists from its request (client HEADERS, a PUSH_PROMISE, or the h2c upgrade request)
 * until both sides ended it, it was reset, or the connection went away; then it is emitted once.
 */
import type { HeaderMap, HttpMessageRecord, RecordUnit } from '../../record/record-types.ts';
import { BodyCapture } from '../body-capture.ts';
import type { H2cUpgrade, Timestamp } from '../sniffer.ts';
import { clientIpFromHeaders } from '../client-ip.ts';
import type { HeaderBlockFields } from './header-fields.ts';

const CONTENT_LENGTH = /^\d{1,15}$/;

/** The request as the record shows it. */
export interface StreamRequest {
  method: string;
  scheme: string;
  /** `:authority`, else the Host field; '' when neither. */
  host: string;
  uri: string;
  header: HeaderMap;
  /** Set for an h2c upgrade: the HTTP/1 sniffer's body and length stand as they are. */
  upgraded: { body: Buffer | null; contentLength: number } | null;
}

/** The request of a HEADERS or PUSH_PROMISE block. */
export function requestFromFields(f: HeaderBlockFields): StreamRequest {
  const host = f.authority ?? f.host ?? '';
  // RFC 9113 §8.5: CONNECT names its target in :authority and has no :path (except the extended
  // CONNECT of RFC 8441, which keeps one).
  const uri = f.path ?? (f.method === 'CONNECT' ? host : '');
  return { method: f.method, scheme: f.scheme, host, uri, header: f.header, upgraded: null };
}

/** Stream 1 of an h2c upgrade: the HTTP/1 request (RFC 7540 §3.2), sent in the clear as `http`. */
export function requestFromUpgrade(u: H2cUpgrade): StreamRequest {
  return {
    method: u.method,
    scheme: 'http',
    host: u.host,
    uri: u.uri,
    header: u.header,
    upgraded: { body: u.body, contentLength: u.contentLength },
  };
}

export class Http2Stream {
  readonly id: number;
  readonly request: StreamRequest;
  readonly start: Timestamp;
  readonly requestBody: BodyCapture;
  readonly responseBody: BodyCapture;
  /** The final (non-1xx) response head; later blocks from the server are trailers. */
  response: HeaderBlockFields | null = null;
  clientEnded = false;
  serverEnded = false;
  /** Frame bytes (header + payload) of this stream from the client and from the server. */
  inputBytes = 0;
  outputBytes = 0;
  /** Decoded header bytes and body bytes this stream holds (for the connection's budget). */
  retainedBytes = 0;

  constructor(id: number, request: StreamRequest, start: Timestamp, bodyLimit: number) {
    this.id = id;
    this.request = request;
    this.start = start;
    this.requestBody = new BodyCapture(bodyLimit);
    this.responseBody = new BodyCapture(bodyLimit);
  }

  /** The record of this stream, closed at `end` with `err` ('' when it completed). */
  toRecord(end: Timestamp, err: string, serverPort: number, bodyCapture: boolean): RecordUnit {
    const req = this.request;
    const request: HttpMessageRecord = req.upgraded
      ? { contentLength: req.upgraded.contentLength, header: req.header, body: req.upgraded.body }
      : message(req.header, this.requestBody, bodyCapture);
    const res = this.response;
    const response: HttpMessageRecord = res
      ? message(res.header, this.responseBody, bodyCapture)
      : { contentLength: 0, header: null, body: null };
    return {
      proto: 'http',
      scope: 'unit',
      host: unitHost(req.host, serverPort),
      clientIP: clientIpFromHeaders(req.header),
      http: {
        host: req.host,
        method: req.method,
        proto: 'HTTP/2.0',
        scheme: req.scheme,
        uri: req.uri,
        cached: false,
        statusCode: res ? res.statusCode() : 0,
        request,
        response,
      },
      inputBytes: this.inputBytes,
      outputBytes: this.outputBytes,
      start: this.start,
      end,
      err,
    };
  }
}

function message(header: HeaderMap, body: BodyCapture, bodyCapture: boolean): HttpMessageRecord {
  let contentLength = -1;
  if (bodyCapture) contentLength = body.seen;
  else {
    const value = header.get('Content-Length')?.[0]?.trim() ?? '';
    if (CONTENT_LENGTH.test(value)) contentLength = Number(value);
  }
  return { contentLength, header, body: body.result() };
}

/** `host` with `:port` appended when it names none (`[v6]` literals included); '' stays ''. */
export function unitHost(host: string, port: number): string {
  if (host === '') return '';
  const close = host.lastIndexOf(']');
  const colon = host.lastIndexOf(':');
  if (host.startsWith('[')) return colon > close ? host : `${host}:${port}`;
  if (colon < 0) return `${host}:${port}`;
  // More than one colon and no brackets: a bare IPv6 address.
  return host.indexOf(':') !== colon ? `[${host}]:${port}` : host;
}
