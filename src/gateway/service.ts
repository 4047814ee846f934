/**
 * One configured service: a TCP listener and the handler its connections go to.
 *
 *   listen (addr; `:PORT` → 127.0.0.1) ─► accept (beyond `maxConnections` the kernel-accepted
 *   socket is closed at once and counted) ─► GatewaySession ─► handlers[type](conn)
 *   ─► session.finish() (the connection record when nothing else was recorded) ─► socket closed
 *
 * `close(graceMs)` stops accepting, lets open connections finish for `graceMs`, then cuts them.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TapgateError } from '../errors.ts';
import type { RecordSink } from '../sniff/sniff-stage.ts';
import { defaultSniffConfig, type SniffConfig } from '../sniff/sniffer.ts';
import { bypassFor, type Bypass } from './bypass.ts';
import type { ServiceRuntime, TlsInterceptor } from './connection.ts';
import { gatewayDefaults, type ServiceConfig } from './gateway-config.ts';
import { GatewaySession, newGatewayStats, type GatewayStats } from './gateway-sniffer.ts';
import { handlers } from './handlers/registry.ts';

/** How long a closed connection may take to flush what was written to it. */
const LINGER_MS = 2000;
const HANDLER_RECORD = 'recorder.service.handler';

export interface ServiceOptions {
  readonly config: ServiceConfig;
  /** Every `bypasses[]` entry by name. */
  readonly bypasses: ReadonlyMap<string, Bypass>;
  readonly sink: RecordSink;
  readonly tlsInterceptor: TlsInterceptor | null;
  /** A handler failed in a way it did not expect (a bug): the connection is closed. */
  readonly onError?: (service: string, err: unknown) => void;
}

/**
 * Sniffer settings of a service: body capture from its `recorder.service.handler` entries (GOST
 * puts `http.body` there), else from the handler metadata; WebSocket frames from `sniffing.*`.
 */
export function sniffConfigFor(cfg: ServiceConfig): SniffConfig {
  const entries = cfg.recorders.filter((r) => r.record === HANDLER_RECORD);
  const bodies = entries.map((r) => r.httpBody).filter((b) => b !== undefined);
  const sizes = entries.map((r) => r.httpMaxBodySize).filter((n) => n !== undefined);
  const h = cfg.handler;
  return {
    httpBody: bodies.length > 0 ? bodies.includes(true) : (h.httpBody ?? false),
    httpMaxBodySize:
      sizes.length > 0
        ? Math.max(...sizes)
        : (h.httpMaxBodySize ?? gatewayDefaults.httpMaxBodySize),
    websocketFrames: h.sniffing.websocket,
    websocketSampleRate: h.sniffing.websocketSampleRate,
    dnsPorts: defaultSniffConfig.dnsPorts,
  };
}

export class Service {
  readonly runtime: ServiceRuntime;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #running = new Set<Promise<void>>();
  readonly #onError: ServiceOptions['onError'];

  constructor(opts: ServiceOptions) {
    const cfg = opts.config;
    this.runtime = {
      name: cfg.name,
      labels: cfg.labels,
      sniffConfig: sniffConfigFor(cfg),
      sink: opts.sink,
      stats: newGatewayStats(),
      config: cfg,
      bypass: bypassFor(cfg.bypass, opts.bypasses),
      mitmBypass: cfg.handler.mitm?.bypass
        ? bypassFor([cfg.handler.mitm.bypass], opts.bypasses)
        : null,
      tlsInterceptor: opts.tlsInterceptor,
      nextNode: 0,
    };
    this.#onError = opts.onError;
    this.#server = createServer(
      { allowHalfOpen: true, pauseOnConnect: true, noDelay: true },
      (s) => {
        this.#accept(s);
      },
    );
    this.#server.maxConnections = cfg.listener.maxConnections;
    this.#server.on('drop', () => {
      this.runtime.stats.rejected++;
    });
  }

  get name(): string {
    return this.runtime.name;
  }

  get stats(): GatewayStats {
    return this.runtime.stats;
  }

  /** The bound address (after `listen`). */
  get address(): AddressInfo | null {
    const a = this.#server.address();
    return a !== null && typeof a === 'object' ? a : null;
  }

  listen(): Promise<AddressInfo> {
    const { host, port, text } = this.runtime.config.addr;
    return new Promise((resolve, reject) => {
      const onError = (e: Error): void => {
        reject(
          new TapgateError(
            'TG_ERR_GATEWAY',
            `service ${this.name}: cannot listen on ${text}: ${e.message}`,
            { cause: e },
          ),
        );
      };
      this.#server.once('error', onError);
      this.#server.listen({ host, port }, () => {
        this.#server.off('error', onError);
        resolve(this.address!);
      });
    });
  }

  /** Stops accepting; open connections get `graceMs` to finish, then are closed. */
  async close(graceMs: number): Promise<void> {
    this.#server.close();
    if (this.#running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.#running]),
        new Promise((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
    }
    for (const s of this.#sockets) s.destroy();
    await Promise.allSettled([...this.#running]);
  }

  #accept(socket: Socket): void {
    const rt = this.runtime;
    rt.stats.connections++;
    rt.stats.active++;
    this.#sockets.add(socket);
    // Errors are recorded by whoever reads the socket; this keeps one from going unhandled.
    socket.on('error', () => undefined);
    const session = new GatewaySession(rt, socket);
    const handler = handlers[rt.config.handler.type];
    const run = handler({ service: rt, socket, session })
      .catch((e: unknown) => {
        session.err ||= `internal error: ${e instanceof Error ? e.message : String(e)}`;
        this.#onError?.(this.name, e);
      })
      .finally(() => {
        session.finish();
        if (!socket.destroyed) {
          socket.end();
          setTimeout(() => socket.destroy(), LINGER_MS).unref();
        }
        rt.stats.active--;
        this.#sockets.delete(socket);
        this.#running.delete(run);
      });
    this.#running.add(run);
  }
}
