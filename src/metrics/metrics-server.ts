/**
 * The `--metrics HOST:PORT` endpoint: `/metrics` (Prometheus text format: tapgate's metrics and
 * the process's) and `/healthz` (200 while the job reports progress, 503 once it went quiet).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { TapgateError } from '../errors.ts';
import type { CaptureMetrics } from './capture-metrics.ts';
import type { MetricsEndpoint } from './metrics-address.ts';

/** The job reports about once a second; three missed reports mean it is stuck. */
const STALE_SEC = 5;

export class MetricsServer {
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
  }

  /** Listens at `at`; fails with TG_ERR_USAGE when the address cannot be bound. */
  static async start(metrics: CaptureMetrics, at: MetricsEndpoint): Promise<MetricsServer> {
    const processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
    const server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET') {
        res.writeHead(405).end();
      } else if (path === '/metrics') {
        Promise.all([metrics.registry.metrics(), processRegistry.metrics()]).then(
          ([ours, process]) => {
            res.writeHead(200, { 'Content-Type': metrics.registry.contentType });
            res.end(ours + '\n' + process);
          },
          (e: unknown) => {
            res.writeHead(500).end(String(e));
          },
        );
      } else if (path === '/healthz') {
        const age = metrics.ageSec;
        const ok = age <= STALE_SEC;
        res.writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            status: ok ? 'ok' : 'stale',
            lastReportSecondsAgo: Number.isFinite(age) ? Math.round(age * 10) / 10 : null,
          }) + '\n',
        );
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => {
        reject(
          new TapgateError(
            'TG_ERR_USAGE',
            `--metrics: cannot listen on ${at.host}:${String(at.port)}: ${e.message}`,
          ),
        );
      });
      server.listen(at.port, at.host, resolve);
    });
    return new MetricsServer(server);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => {
        resolve();
      });
      this.#server.closeAllConnections();
    });
  }
}
