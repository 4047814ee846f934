/**
 * The `tcp` recorder: one persistent connection, every record followed by a newline. GOST dials a
 * connection per record without framing; tapgate keeps one open (records arrive by the thousand)
 * and frames them, so the receiver can split them. A lost connection is dialled again on the next
 * delivery; the queue retries the batch that failed.
 */
import net from 'node:net';
import type { DeliveryTarget } from './sink-target.ts';

export interface TcpTargetOptions {
  /** `host:port`, `[v6]:port` or `:port` (localhost). */
  addr: string;
  /** Dial timeout; 0: the system's. */
  timeoutMs: number;
}

const NEWLINE = Buffer.from('\n');

export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || !(port >= 1 && port <= 65535)) throw new Error(`"${addr}" is not HOST:PORT`);
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

class TcpTarget implements DeliveryTarget {
  readonly kind = 'tcp';
  readonly name: string;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  #sock: net.Socket | null = null;
  #closed = false;

  constructor(name: string, opts: TcpTargetOptions) {
    this.name = name;
    const { host, port } = parseHostPort(opts.addr);
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = opts.timeoutMs;
  }

  async deliver(batch: readonly Buffer[]): Promise<void> {
    const sock = this.#sock ?? (await this.#connect());
    const parts: Buffer[] = [];
    for (const rec of batch) parts.push(rec, NEWLINE);
    const data = Buffer.concat(parts);
    await new Promise<void>((resolve, reject) => {
      const onClose = (): void => {
        reject(new Error(`${this.#host}:${this.#port}: connection closed`));
      };
      sock.once('close', onClose);
      sock.write(data, (err) => {
        sock.off('close', onClose);
        if (err) reject(err);
        else resolve();
      });
    });
  }

  close(): Promise<void> {
    this.#closed = true;
    const sock = this.#sock;
    this.#sock = null;
    if (!sock) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => sock.destroy(), 2000);
      sock.end(() => {
        clearTimeout(timer);
        sock.destroy();
        resolve();
      });
      sock.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #connect(): Promise<net.Socket> {
    if (this.#closed) return Promise.reject(new Error('closed'));
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.#host, port: this.#port });
      const timer =
        this.#timeoutMs > 0
          ? setTimeout(() => {
              sock.destroy(new Error(`${this.#host}:${this.#port}: dial timeout`));
            }, this.#timeoutMs)
          : null;
      const onError = (e: Error): void => {
        if (timer) clearTimeout(timer);
        reject(e);
      };
      sock.once('error', onError);
      sock.once('connect', () => {
        if (timer) clearTimeout(timer);
        sock.off('error', onError);
        sock.setNoDelay(true);
        sock.setKeepAlive(true, 30_000);
        sock.on('error', () => undefined); // 'close' follows; the pending write reports it
        sock.on('close', () => {
          if (this.#sock === sock) this.#sock = null;
        });
        sock.on('end', () => sock.destroy()); // the peer is gone: dial again next time
        sock.resume(); // whatever the receiver sends is ignored
        this.#sock = sock;
        resolve(sock);
      });
    });
  }
}

export function createTcpTarget(name: string, opts: TcpTargetOptions): DeliveryTarget {
  return new TcpTarget(name, opts);
}
