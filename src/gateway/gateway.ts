/**
 * The gateway: every configured service listening, records going to one sink.
 *
 *   Gateway.start(config, {sink}) ─► bypass lists built ─► MITM settings checked ─► each service
 *   listens (a failure closes those already up and throws TG_ERR_GATEWAY) ─► running
 *   stop(graceMs) ─► every service stops accepting, open connections get graceMs, then are cut
 *
 * Everything that can be wrong in the configuration fails in `start`, before the first client.
 */
import type { AddressInfo } from 'node:net';
import { TapgateError } from '../errors.ts';
import type { RecordSink } from '../sniff/sniff-stage.ts';
import { PatternBypass, type Bypass } from './bypass.ts';
import type { TlsInterceptor } from './connection.ts';
import type { GatewayConfig } from './gateway-config.ts';
import type { GatewayStats } from './gateway-sniffer.ts';
import { Service } from './service.ts';

export interface GatewayOptions {
  readonly sink: RecordSink;
  /**
   * TLS interception (MITM) for services with `mitm.*` settings; without one, such a service
   * fails to start.
   */
  readonly tlsInterceptor?: (service: string) => TlsInterceptor | null;
  readonly onError?: (service: string, err: unknown) => void;
}

export interface ServiceStatus {
  readonly name: string;
  readonly type: string;
  readonly address: AddressInfo;
  readonly stats: GatewayStats;
}

export class Gateway {
  readonly #services: Service[];

  private constructor(services: Service[]) {
    this.#services = services;
  }

  static async start(config: GatewayConfig, opts: GatewayOptions): Promise<Gateway> {
    const bypasses = new Map<string, Bypass>(
      config.bypasses.map((b) => [b.name, new PatternBypass(b)]),
    );
    const services = config.services.map((cfg) => {
      const interceptor =
        cfg.handler.mitm === null ? null : (opts.tlsInterceptor?.(cfg.name) ?? null);
      if (cfg.handler.mitm !== null && interceptor === null) {
        throw new TapgateError(
          'TG_ERR_CONFIG',
          `service ${cfg.name}: mitm.* is set, but TLS interception is not available in this build`,
        );
      }
      return new Service({
        config: cfg,
        bypasses,
        sink: opts.sink,
        tlsInterceptor: interceptor,
        ...(opts.onError === undefined ? {} : { onError: opts.onError }),
      });
    });
    const started: Service[] = [];
    try {
      for (const s of services) {
        await s.listen();
        started.push(s);
      }
    } catch (e) {
      await Promise.all(started.map((s) => s.close(0)));
      throw e;
    }
    return new Gateway(services);
  }

  get services(): ServiceStatus[] {
    return this.#services.map((s) => ({
      name: s.name,
      type: s.runtime.config.handler.type,
      address: s.address!,
      stats: s.stats,
    }));
  }

  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.#services.map((s) => s.close(graceMs)));
  }
}
