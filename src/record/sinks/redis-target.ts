/**
 * The `redis` recorder (gost-compat.md §5.2): GOST's `list` (LPUSH), `set` (SADD) and `sset`
 * (ZINCRBY key 1), plus Redis Streams (XADD, optional approximate MAXLEN). Each batch goes out as
 * one pipeline on one connection; AUTH and SELECT run on every (re)connect. A failure closes the
 * connection and rejects the batch: the queue in front retries it (at-least-once: a batch that
 * failed after Redis applied part of it may be applied twice; SADD is idempotent, LPUSH, ZINCRBY
 * and XADD are not).
 */
import net from 'node:net';
import { encodeCommand, RespError, RespParser, type RespReply } from './resp-parser.ts';
import type { RedisRecorderOptions } from './recorder-spec.ts';
import type { DeliveryTarget } from './sink-target.ts';
import { parseHostPort } from './tcp-target.ts';

export type RedisTargetOptions = RedisRecorderOptions;

const DEFAULT_PORT = 6379;

/** `addr` with Redis' default port when it names none (`host`, `[v6]`, a bare IPv6 address). */
function withPort(addr: string): string {
  if (/^\[.*\]:\d+$/.test(addr) || /^[^:]*:\d+$/.test(addr)) return addr;
  if (addr.startsWith('[') || !addr.includes(':')) return `${addr}:${String(DEFAULT_PORT)}`;
  return `[${addr}]:${String(DEFAULT_PORT)}`;
}

/** The commands one batch becomes. */
function commandsFor(o: RedisTargetOptions, batch: readonly Buffer[]): (string | Buffer)[][] {
  switch (o.type) {
    case 'list':
      return [['LPUSH', o.key, ...batch]];
    case 'set':
      return [['SADD', o.key, ...batch]];
    case 'sset':
      return batch.map((r) => ['ZINCRBY', o.key, '1', r]);
    case 'stream': {
      const trim = o.maxLen !== undefined ? ['MAXLEN', '~', String(o.maxLen)] : [];
      return batch.map((r) => ['XADD', o.key, ...trim, '*', 'record', r]);
    }
  }
}

class RedisTarget implements DeliveryTarget {
  readonly kind = 'redis';
  readonly name: string;
  readonly #o: RedisTargetOptions;
  readonly #host: string;
  readonly #port: number;
  #sock: net.Socket | null = null;
  /** Replies of the pipeline in flight, in order. */
  #waiting: ((r: RespReply | Error) => void)[] = [];

  constructor(name: string, o: RedisTargetOptions) {
    this.name = name;
    this.#o = o;
    const { host, port } = parseHostPort(withPort(o.addr));
    this.#host = host;
    this.#port = port;
  }

  async deliver(batch: readonly Buffer[]): Promise<void> {
    if (batch.length === 0) return;
    const sock = this.#sock ?? (await this.#connect());
    const replies = await this.#pipeline(sock, commandsFor(this.#o, batch));
    const err = replies.find((r) => r instanceof RespError);
    if (err instanceof RespError) throw new Error(`redis ${this.name}: ${err.message}`);
  }

  close(): Promise<void> {
    this.#drop(new Error('closed'));
    return Promise.resolve();
  }

  async #connect(): Promise<net.Socket> {
    const sock = net.connect({ host: this.#host, port: this.#port });
    sock.setNoDelay(true);
    const parser = new RespParser((r) => this.#waiting.shift()?.(r));
    sock.on('data', (chunk: Buffer) => {
      try {
        parser.push(chunk);
      } catch (e) {
        this.#drop(e instanceof Error ? e : new Error(String(e)));
      }
    });
    sock.on('error', (e) => {
      this.#drop(e);
    });
    sock.on('close', () => {
      this.#drop(new Error('connection closed'));
    });
    await this.#timed(
      new Promise<void>((resolve, reject) => {
        sock.once('connect', resolve);
        sock.once('error', reject);
      }),
      sock,
    );
    this.#sock = sock;
    const setup: (string | Buffer)[][] = [];
    if (this.#o.password !== undefined) {
      setup.push(
        this.#o.username !== undefined
          ? ['AUTH', this.#o.username, this.#o.password]
          : ['AUTH', this.#o.password],
      );
    }
    if (this.#o.db !== 0) setup.push(['SELECT', String(this.#o.db)]);
    if (setup.length > 0) {
      const err = (await this.#pipeline(sock, setup)).find((r) => r instanceof RespError);
      if (err instanceof RespError) {
        this.#drop(new Error(err.message));
        throw new Error(`redis ${this.name}: ${err.message}`);
      }
    }
    return sock;
  }

  /** Writes every command at once and resolves with their replies, in order. */
  #pipeline(sock: net.Socket, commands: (string | Buffer)[][]): Promise<RespReply[]> {
    const replies = commands.map(
      () =>
        new Promise<RespReply>((resolve, reject) => {
          this.#waiting.push((r) => {
            if (r instanceof Error) reject(r);
            else resolve(r);
          });
        }),
    );
    sock.write(Buffer.concat(commands.map(encodeCommand)));
    return this.#timed(Promise.all(replies), sock);
  }

  /** `p`, or a rejection (and a closed connection) after the configured timeout. */
  #timed<T>(p: Promise<T>, sock: net.Socket): Promise<T> {
    const ms = this.#o.timeoutMs > 0 ? this.#o.timeoutMs : 5000;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        const e = new Error(`redis ${this.name}: no answer within ${String(ms)} ms`);
        sock.destroy(e);
        this.#drop(e);
        reject(e);
      }, ms);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          reject(e instanceof Error ? e : new Error(String(e)));
        },
      );
    });
  }

  /** Forgets the connection; whatever waits for a reply fails with `e`. */
  #drop(e: Error): void {
    const sock = this.#sock;
    this.#sock = null;
    sock?.destroy();
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const w of waiting) w(e);
  }
}

export function createRedisTarget(name: string, opts: RedisTargetOptions): DeliveryTarget {
  return new RedisTarget(name, opts);
}
