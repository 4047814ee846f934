/**
 * The `--metrics` / `metrics.addr` address, parsed without loading prom-client (runs without
 * metrics never load it).
 */
import { TapgateError } from '../errors.ts';

export interface MetricsEndpoint {
  host: string;
  port: number;
}

/** `HOST:PORT` or `[v6]:PORT` (`:PORT` = 127.0.0.1). */
export function parseMetricsAddress(text: string, where: string): MetricsEndpoint {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) {
    throw new TapgateError('TG_ERR_USAGE', `${where}: "${text}" is not HOST:PORT`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}
