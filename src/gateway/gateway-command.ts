/**
 * `tapgate gateway -c tapgate.yaml [--records FILE]`: runs the configured proxy services until
 * SIGINT/SIGTERM. Records go to FILE as JSON lines (`-` = stdout); without `--records` they are
 * counted only (the `recorders:` sinks are wired separately).
 */
import { parseArgs } from 'node:util';
import { parseDuration } from '../config/units.ts';
import { TapgateError } from '../errors.ts';
import type { RecordSink } from '../sniff/sniff-stage.ts';
import { Gateway } from './gateway.ts';
import { loadGatewayConfigFile } from './gateway-config.ts';
import { prepareTlsInterception } from './mitm/tls-interceptor.ts';

export const gatewayUsage = `Usage: tapgate gateway -c tapgate.yaml [options]

Runs the proxy services of the config's services: section (GOST v3 YAML: handlers http, socks5,
tcp, red, sni; bypasses; sniffing) until SIGINT/SIGTERM, and writes a GOST-shaped JSON record per
HTTP exchange, tunnel or connection.

  -c, --config FILE     YAML config (required)
      --records FILE    append JSON lines to FILE (- = stdout)
      --grace T         on SIGINT/SIGTERM, let open connections finish for T (default 5s)
  -h, --help`;

const DEFAULT_GRACE_SEC = 5;

export async function gatewayCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: 'string', short: 'c' },
      records: { type: 'string' },
      grace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(gatewayUsage + '\n');
    return 0;
  }
  if (values.config === undefined) {
    throw new TapgateError('TG_ERR_USAGE', 'gateway: -c/--config FILE is required');
  }
  const graceMs =
    (values.grace === undefined ? DEFAULT_GRACE_SEC : parseDuration(values.grace, '--grace')) *
    1000;
  const config = await loadGatewayConfigFile(values.config);
  if (config.services.length === 0) {
    throw new TapgateError('TG_ERR_CONFIG', `${values.config}: no services to run`);
  }
  let sink: RecordSink & { close?(): Promise<void> } = { write: () => undefined };
  if (values.records !== undefined) {
    sink = await (await import('../record/jsonl-sink.ts')).JsonlSink.open(values.records);
  }
  const log = (line: string): void => {
    process.stderr.write(`tapgate: gateway: ${line}\n`);
  };
  let gateway: Gateway;
  try {
    // MITM: CAs loaded (a bad file fails here); their warnings go to stderr before anything runs.
    const mitm = await prepareTlsInterception(config);
    for (const w of mitm.warnings) process.stderr.write(`tapgate: gateway: ${w}\n`);
    gateway = await Gateway.start(config, {
      sink,
      tlsInterceptor: mitm.interceptorFor,
      onError: (service, e) => {
        log(
          `service ${service}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`,
        );
      },
    });
  } catch (e) {
    await sink.close?.();
    throw e;
  }
  for (const s of gateway.services) {
    const a = s.address;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    log(`service ${s.name} (${s.type}) listening on ${host}:${a.port}`);
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => {
      resolve('SIGINT');
    });
    process.once('SIGTERM', () => {
      resolve('SIGTERM');
    });
  });
  log(`${signal}: stopping (open connections get ${graceMs / 1000}s)`);
  await gateway.stop(graceMs);
  await sink.close?.();
  for (const s of gateway.services) {
    const st = s.stats;
    log(
      `service ${s.name}: ${st.connections} connections, ${st.rejected} refused at the limit, ${st.records} records`,
    );
  }
  return 0;
}
