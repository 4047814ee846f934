/**
 * One request and its final response, accumulated while both directions are parsed, and the
 * GOST record built from them (gost-compat.md §1.3).
 */
import type {
  HeaderMap,
  HttpMessageRecord,
  HttpRecord,
  RecordUnit,
} from '../../record/record-types.ts';
import type { H2cUpgrade, Timestamp } from '../sniffer.ts';
import { BodyCapture } from '../body-capture.ts';

export class Exchange {
  readonly start: Timestamp;
  /** Body capture is on: `contentLength` records the bytes seen (GOST overwrites it so). */
  readonly #capturing: boolean;

  // Request (left at these values for a response that had no request).
  method = '';
  uri = '';
  proto = '';
  scheme = '';
  /** Host header as sent. */
  host = '';
  /** Record `host`: Host plus the server port when it has none. */
  unitHost = '';
  clientIP = '';
  requestHeader: HeaderMap | null = null;
  /** Go's ContentLength of the request (header value, -1 chunked, 0 none). */
  requestContentLength = 0;
  requestBodyBytes = 0;
  /** Null when body capture is off (nothing to keep). */
  readonly #requestBody: BodyCapture | null;
  /** Request bytes on the wire; for a WebSocket upgrade, plus the whole client side afterwards. */
  inputBytes = 0;

  // Final response.
  statusCode = 0;
  responseHeader: HeaderMap | null = null;
  responseContentLength = 0;
  responseBodyBytes = 0;
  readonly #responseBody: BodyCapture | null;
  /** Response bytes on the wire, interim 1xx included. */
  outputBytes = 0;

  err = '';

  constructor(start: Timestamp, captureLimit: number) {
    this.start = start;
    this.#capturing = captureLimit > 0;
    this.#requestBody = this.#capturing ? new BodyCapture(captureLimit) : null;
    this.#responseBody = this.#capturing ? new BodyCapture(captureLimit) : null;
  }

  addRequestBody(bytes: Buffer): void {
    this.requestBodyBytes += bytes.length;
    this.#requestBody?.add(bytes);
  }

  addResponseBody(bytes: Buffer): void {
    this.responseBodyBytes += bytes.length;
    this.#responseBody?.add(bytes);
  }

  requestBodyGap(bytes: number): void {
    this.requestBodyBytes += bytes;
    this.#requestBody?.hole();
  }

  responseBodyGap(bytes: number): void {
    this.responseBodyBytes += bytes;
    this.#responseBody?.hole();
  }

  /** The record for this exchange, ending at `end`. */
  toRecord(end: Timestamp): RecordUnit {
    return {
      proto: 'http',
      scope: 'unit',
      host: this.unitHost,
      clientIP: this.clientIP,
      http: this.httpRecord(true),
      inputBytes: this.inputBytes,
      outputBytes: this.outputBytes,
      start: this.start,
      end,
      err: this.err,
    };
  }

  /**
   * The `http` object. With body capture on, `contentLength` is the real number of de-chunked body
   * bytes, as GOST overwrites it. `withBodies` false leaves the bodies out (WebSocket frame records
   * carry the upgrade exchange without them).
   */
  httpRecord(withBodies: boolean): HttpRecord {
    const request: HttpMessageRecord = {
      contentLength: this.#capturing ? this.requestBodyBytes : this.requestContentLength,
      header: this.requestHeader,
      body: withBodies ? (this.#requestBody?.result() ?? null) : null,
    };
    const response: HttpMessageRecord =
      this.responseHeader === null
        ? { contentLength: 0, header: null, body: null }
        : {
            contentLength: this.#capturing ? this.responseBodyBytes : this.responseContentLength,
            header: this.responseHeader,
            body: withBodies ? (this.#responseBody?.result() ?? null) : null,
          };
    return {
      host: this.host,
      method: this.method,
      proto: this.proto,
      scheme: this.scheme,
      uri: this.uri,
      cached: false,
      statusCode: this.statusCode,
      request,
      response,
    };
  }

  /** What the HTTP/2 sniffer needs to record an `Upgrade: h2c` request as stream 1. */
  h2cUpgrade(): H2cUpgrade {
    const request = this.httpRecord(true).request;
    return {
      method: this.method,
      uri: this.uri,
      host: this.host,
      header: this.requestHeader ?? new Map<string, string[]>(),
      body: request.body,
      contentLength: request.contentLength,
      start: this.start,
      inputBytes: this.inputBytes,
      outputBytes: this.outputBytes,
    };
  }
}
