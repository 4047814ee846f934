/**
 * GOST's `http` recorder: `POST url` with one record as the body (`Content-Type: application/json`
 * unless `header` sets it); a status below 400 is success. Connections are kept alive and reused.
 * With `batch: true` (tapgate's extension) one POST carries the whole batch as NDJSON
 * (`application/x-ndjson`), for collectors that accept it.
 */
import http from 'node:http';
import https from 'node:https';
import { PartialDeliveryError } from './sink-queue.ts';
import type { DeliveryTarget } from './sink-target.ts';

export interface HttpTargetOptions {
  /** `http://` is added when the scheme is missing, as GOST does. */
  url: string;
  /** Per request; 0: none. */
  timeoutMs: number;
  header: Record<string, string>;
  batch: boolean;
}

const NEWLINE = Buffer.from('\n');

class HttpTarget implements DeliveryTarget {
  readonly kind = 'http';
  readonly name: string;
  readonly #url: URL;
  readonly #agent: http.Agent;
  readonly #request: typeof http.request;
  readonly #timeoutMs: number;
  readonly #header: Record<string, string>;
  readonly #batch: boolean;
  readonly #hasContentType: boolean;

  constructor(name: string, opts: HttpTargetOptions) {
    this.name = name;
    this.#url = new URL(
      /^[a-z][a-z0-9+.-]*:\/\//i.test(opts.url) ? opts.url : `http://${opts.url}`,
    );
    const tls = this.#url.protocol === 'https:';
    this.#agent = tls
      ? new https.Agent({ keepAlive: true, maxSockets: 1 })
      : new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.#request = tls ? https.request : http.request;
    this.#timeoutMs = opts.timeoutMs;
    this.#header = opts.header;
    this.#batch = opts.batch;
    this.#hasContentType = Object.keys(opts.header).some((k) => k.toLowerCase() === 'content-type');
  }

  async deliver(batch: readonly Buffer[]): Promise<void> {
    if (this.#batch) {
      const parts: Buffer[] = [];
      for (const rec of batch) parts.push(rec, NEWLINE);
      await this.#post(Buffer.concat(parts), 'application/x-ndjson');
      return;
    }
    for (const [i, rec] of batch.entries()) {
      try {
        await this.#post(rec, 'application/json');
      } catch (e) {
        throw i > 0 ? new PartialDeliveryError(i, e) : e;
      }
    }
  }

  close(): Promise<void> {
    this.#agent.destroy();
    return Promise.resolve();
  }

  #post(body: Buffer, contentType: string): Promise<void> {
    const headers: Record<string, string | number> = { ...this.#header };
    if (!this.#hasContentType) headers['Content-Type'] = contentType;
    headers['Content-Length'] = body.length;
    return new Promise((resolve, reject) => {
      const req = this.#request(
        this.#url,
        { method: 'POST', agent: this.#agent, headers },
        (res) => {
          res.resume(); // the body is not needed; reading it frees the connection
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status < 400) resolve();
            else reject(new Error(`${this.#url.href}: HTTP ${status}`));
          });
          res.on('error', reject);
        },
      );
      if (this.#timeoutMs > 0) {
        req.setTimeout(this.#timeoutMs, () => {
          req.destroy(new Error(`${this.#url.href}: no answer within ${this.#timeoutMs} ms`));
        });
      }
      req.on('error', reject);
      req.end(body);
    });
  }
}

export function createHttpTarget(name: string, opts: HttpTargetOptions): DeliveryTarget {
  return new HttpTarget(name, opts);
}
