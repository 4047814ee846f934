/**
 * `tapgate capture`: flags → CaptureConfig → runCapture, with a progress bar on a TTY and a summary
 * at the end. All policy lives in the library; this file only translates and prints.
 */
import { parseArgs } from 'node:util';
import { parseCidr, type Cidr } from '../flow/cidr.ts';
import type { CutoffClass, PortRange } from '../flow/cutoff.ts';
import {
  parsePortRange,
  protoNumbers,
  resolveCaptureConfig,
  type CaptureConfig,
  type CaptureConfigPatch,
} from '../config/capture-config.ts';
import type { LiveCaptureProgress, LiveCaptureSummary } from '../capture/live-capture.ts';
import type { CaptureMetrics } from '../metrics/capture-metrics.ts';
import { parseMetricsAddress, type MetricsEndpoint } from '../metrics/metrics-address.ts';
import type { MetricsServer } from '../metrics/metrics-server.ts';
import { parseDuration, parsePercent, parseSize } from '../config/units.ts';
import { TapgateError } from '../errors.ts';
import { runCapture, type CaptureProgress, type CaptureSummary } from '../capture/run-capture.ts';
import type { PcapEvents } from '../capture/pipeline-parts.ts';
import { parseLogLevel } from '../config/log-level.ts';
import { EventLog } from './logger.ts';
import { formatLiveSummary, formatSummary } from './summary.ts';

export const captureUsage = `Usage: tapgate capture -r FILE -w DIR [options]
       tapgate capture -i IFACE[,IFACE…] -w DIR [options]
       tapgate capture -c tapgate.yaml [options]

Reads a capture file or captures live, tracks flows, applies the per-flow cutoff and writes
rotated pcap files; with --records, reassembles TCP and writes a GOST-shaped JSON record per HTTP
exchange, HTTP/2 stream, WebSocket frame, TLS or QUIC handshake and DNS query.

Input
  -r, --read FILE           classic pcap or pcapng, plain or gzip (by magic); - = stdin
  -i, --interface LIST      capture live from these interfaces (comma-separated); needs root or
                            CAP_NET_RAW + CAP_NET_ADMIN; stops on SIGINT/SIGTERM or --duration
  -c, --config FILE         YAML config (capture: section); flags override it
Live capture
      --engine E            af-packet (default: TPACKET_V3 rings, fanout) or pcap (libpcap)
      --workers N           capture worker threads (default: cores − 1, at least 1)
  -f, --filter EXPR         tcpdump filter expression, compiled by libpcap
  -s, --snaplen N           bytes kept per frame (default 262144)
      --no-promisc          do not put the interfaces in promiscuous mode
      --ring-block-size SIZE  af-packet ring block (power of two, default 1M)
      --ring-blocks N       af-packet blocks per ring: one ring per worker and interface (default 64)
      --ring-block-timeout T  hand over a partly filled block after T (default 10ms)
      --pcap-buffer-size SIZE  libpcap kernel buffer (default 64M)
      --duration T          stop after T
Output
  -w, --write DIR           output root: DIR/YYYY/MM/DD/<source>-<time>.pcap[.gz]
      --no-pcap             track flows and count, write no pcap
      --compress            gzip on the fly (.pcap.gz)
      --gzip-level N        1 (fast, default) .. 9 (small)
      --gzip-min-saving PCT store (not deflate) while deflate saves less than PCT of the bytes,
                            as on encrypted traffic; a chunk in 16 still probes (default 20%;
                            0 = always deflate)
      --rotate-interval T   new file every T, aligned to wall-clock multiples (default 60s; 0 = off)
      --rotate-size SIZE    new file when a file reaches SIZE on disk (0 = off)
      --retain-size SIZE    delete oldest finished files beyond SIZE in total
      --retain-age T        delete finished files older than T
      --source-name NAME    name in output files (default: the input's base name or the
                            interface names joined by _)
Records (TCP reassembly and protocol sniffers run only when records are written)
      --records FILE        append JSON lines to FILE (- = stdout)
      --http-body           capture HTTP bodies and WebSocket payloads (base64 in records)
      --http-max-body-size SIZE  bytes kept per body or frame (default 64k, at most 1M)
      --websocket-sample-rate N  WebSocket frame records per second and direction (default 10;
                            negative = every frame; 0 = none)
      --dns-ports LIST      ports tried as DNS over UDP and TCP (default 53,5353,5355)
Cutoff (per flow; SYN/FIN/RST packets are always kept)
      --cutoff-bytes SIZE   transport payload bytes written per flow (default 64k; 0 = no limit)
      --cutoff-packets N    packets written per flow (default 1000; 0 = no limit)
      --cutoff-direction    count each direction on its own
      --cutoff-class SPEC   NAME:MATCH:BYTES[:PACKETS], MATCH = tcp|udp|PORT|CIDR joined by +,
                            e.g. dns:udp+53:0:0 or tls:tcp+443:16k (repeatable; first match wins)
Flows
      --max-flows N         flows tracked at once; the oldest idle one is evicted (default 1000000)
      --tcp-timeout T       idle timeouts in packet time (defaults 5m, 60s, 30s)
      --udp-timeout T
      --other-timeout T
Reporting
      --metrics HOST:PORT   serve Prometheus metrics at /metrics and a health check at /healthz
      --log-level LEVEL     JSON event lines on stderr: error, warn (default), info (file and
                            start/stop events, stats every minute), debug, silent
      --json                print the summary as JSON on stdout
      --no-progress         no progress bar / live status line (drawn on stderr only on a TTY)
  -q, --quiet               no summary
  -h, --help

SIZE: 65536, 64k, 16KiB, 2G.  T: 90, 60s, 5m, 1h, 7d.`;

export async function captureCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: joinNegativeValues(argv),
    strict: true,
    allowPositionals: false,
    options: {
      read: { type: 'string', short: 'r' },
      interface: { type: 'string', short: 'i' },
      engine: { type: 'string' },
      workers: { type: 'string' },
      filter: { type: 'string', short: 'f' },
      snaplen: { type: 'string', short: 's' },
      'no-promisc': { type: 'boolean' },
      'ring-block-size': { type: 'string' },
      'ring-blocks': { type: 'string' },
      'ring-block-timeout': { type: 'string' },
      'pcap-buffer-size': { type: 'string' },
      duration: { type: 'string' },
      config: { type: 'string', short: 'c' },
      metrics: { type: 'string' },
      'log-level': { type: 'string' },
      write: { type: 'string', short: 'w' },
      'no-pcap': { type: 'boolean' },
      records: { type: 'string' },
      'http-body': { type: 'boolean' },
      'http-max-body-size': { type: 'string' },
      'websocket-sample-rate': { type: 'string' },
      'dns-ports': { type: 'string' },
      compress: { type: 'boolean' },
      'gzip-level': { type: 'string' },
      'gzip-min-saving': { type: 'string' },
      'rotate-interval': { type: 'string' },
      'rotate-size': { type: 'string' },
      'retain-size': { type: 'string' },
      'retain-age': { type: 'string' },
      'source-name': { type: 'string' },
      'cutoff-bytes': { type: 'string' },
      'cutoff-packets': { type: 'string' },
      'cutoff-direction': { type: 'boolean' },
      'cutoff-class': { type: 'string', multiple: true },
      'max-flows': { type: 'string' },
      'tcp-timeout': { type: 'string' },
      'udp-timeout': { type: 'string' },
      'other-timeout': { type: 'string' },
      json: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(captureUsage + '\n');
    return 0;
  }
  // The YAML parser and the progress bar load only when used: start-up time counts on short runs.
  const fromFile = values.config
    ? await (await import('../config/capture-config-yaml.ts')).loadCaptureConfigFile(values.config)
    : {};
  const flags: CaptureConfigPatch = { cutoff: {}, flows: {}, live: {}, sniff: {} };
  const size = (v: string | undefined, flag: string): number | undefined =>
    v === undefined ? undefined : parseSize(v, flag);
  const dur = (v: string | undefined, flag: string): number | undefined =>
    v === undefined ? undefined : parseDuration(v, flag);
  const int = (v: string | undefined, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v)) throw new TapgateError('TG_ERR_USAGE', `${flag}: "${v}" is not a number`);
    return n;
  };
  const engine = values.engine;
  if (engine !== undefined && engine !== 'af-packet' && engine !== 'pcap') {
    throw new TapgateError('TG_ERR_USAGE', `--engine: "${engine}" is not af-packet or pcap`);
  }
  Object.assign(flags.live!, {
    engine,
    workers: int(values.workers, '--workers'),
    filter: values.filter,
    snapLen: int(values.snaplen, '--snaplen'),
    promisc: values['no-promisc'] ? false : undefined,
    ringBlockSizeBytes: size(values['ring-block-size'], '--ring-block-size'),
    ringBlocks: int(values['ring-blocks'], '--ring-blocks'),
    ringBlockTimeoutMs: mapDefined(dur(values['ring-block-timeout'], '--ring-block-timeout'), (t) =>
      Math.round(t * 1000),
    ),
    pcapBufferBytes: size(values['pcap-buffer-size'], '--pcap-buffer-size'),
    durationSec: dur(values.duration, '--duration'),
  });
  Object.assign(flags, {
    input: values.read,
    interfaces: values.interface?.split(',').filter((n) => n !== ''),
    outDir: values.write,
    compress: values.compress,
    gzipLevel: int(values['gzip-level'], '--gzip-level'),
    gzipMinSaving: mapDefined(values['gzip-min-saving'], (v) =>
      parsePercent(v, '--gzip-min-saving'),
    ),
    rotateIntervalSec: dur(values['rotate-interval'], '--rotate-interval'),
    rotateSizeBytes: size(values['rotate-size'], '--rotate-size'),
    retainSizeBytes: size(values['retain-size'], '--retain-size'),
    retainAgeSec: dur(values['retain-age'], '--retain-age'),
    sourceName: values['source-name'],
  });
  if (values['no-pcap']) flags.outDir = null;
  if (values.records !== undefined) flags.recordsPath = values.records;
  if (values.metrics !== undefined) flags.metricsAddr = values.metrics;
  if (values['log-level'] !== undefined) {
    flags.logLevel = parseLogLevel(values['log-level'], '--log-level');
  }
  const rate = mapDefined(values['websocket-sample-rate'], (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) {
      throw new TapgateError('TG_ERR_USAGE', `--websocket-sample-rate: "${v}" is not a number`);
    }
    return n;
  });
  Object.assign(flags.sniff!, {
    httpBody: values['http-body'],
    httpMaxBodySize: size(values['http-max-body-size'], '--http-max-body-size'),
    websocketFrames: rate === 0 ? false : undefined,
    websocketSampleRate: rate === 0 ? undefined : rate,
    dnsPorts: values['dns-ports']?.split(',').map((p) => {
      const n = Number(p);
      if (!/^\d+$/.test(p) || n < 1 || n > 65535) {
        throw new TapgateError('TG_ERR_USAGE', `--dns-ports: "${p}" is not a port`);
      }
      return n;
    }),
  });
  Object.assign(flags.cutoff!, {
    bytes: size(values['cutoff-bytes'], '--cutoff-bytes'),
    packets: int(values['cutoff-packets'], '--cutoff-packets'),
    perDirection: values['cutoff-direction'],
    classes: values['cutoff-class']?.map(parseCutoffClassFlag),
  });
  Object.assign(flags.flows!, {
    maxFlows: int(values['max-flows'], '--max-flows'),
    tcpTimeoutSec: dur(values['tcp-timeout'], '--tcp-timeout'),
    udpTimeoutSec: dur(values['udp-timeout'], '--udp-timeout'),
    otherTimeoutSec: dur(values['other-timeout'], '--other-timeout'),
  });
  const config = resolveCaptureConfig(fromFile, flags);
  const noOutput =
    config.outDir === null && config.recordsPath === null && config.recorders.length === 0;
  if (noOutput && !values['no-pcap'] && fromFile.outDir === undefined) {
    throw new TapgateError(
      'TG_ERR_USAGE',
      'no output: give -w DIR, --records FILE, or --no-pcap to count only',
    );
  }

  const metricsAt =
    config.metricsAddr === null ? null : parseMetricsAddress(config.metricsAddr, '--metrics');
  const log = new EventLog(config.logLevel);
  if (config.interfaces.length > 0) return liveCapture(config, values, metricsAt, log);
  log.info('capture.start', { input: config.input, outDir: config.outDir }, 'capture started');

  const abort = new AbortController();
  const stop = (): void => {
    abort.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const bar =
    !values['no-progress'] && !values.quiet && !values.json && process.stderr.isTTY
      ? (await import('./progress.ts')).startProgressBar()
      : null;
  const metrics = metricsAt === null ? null : await startMetrics(metricsAt, []);
  let summary: CaptureSummary;
  try {
    summary = await runCapture(config, {
      signal: abort.signal,
      pcapEvents: pcapEvents(log),
      ...(bar || metrics
        ? {
            onProgress: (p: CaptureProgress) => {
              bar?.update(p);
              metrics?.metrics.update({ ...p, perWorker: [], kernel: null });
            },
          }
        : {}),
    });
  } finally {
    bar?.stop();
    await metrics?.server.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  log.info('capture.stop', stopFields(summary), 'capture finished');
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else if (!values.quiet) process.stdout.write(formatSummary(summary));
  return 0;
}

/** File and write-error events of the pcap output as log lines. */
function pcapEvents(log: EventLog): PcapEvents {
  return {
    onFileClosed: (f) => {
      log.info(
        'pcap.file',
        { path: f.path, bytes: f.sizeBytes, packets: f.packets, reason: f.reason },
        'pcap file finished',
      );
    },
    onWriteError: (e) => {
      log.warn('pcap.write_error', { code: e.code, error: e.message }, 'pcap write failed');
    },
  };
}

/** The figures a stop line carries (the full summary stays on stdout with --json). */
function stopFields(s: CaptureSummary | LiveCaptureSummary): Record<string, unknown> {
  return {
    packets: s.flow.packets,
    flows: s.flow.flowsCreated,
    packetsWritten: s.flow.packetsWritten,
    pcapFiles: s.output?.filesClosed ?? 0,
    writeErrors: s.output?.writeErrors ?? 0,
    records: s.sniff ? Object.values(s.sniff.records).reduce((a, b) => a + b, 0) : 0,
    kernelDrops: 'kernel' in s ? (s.kernel?.drops ?? 0) : 0,
    elapsedSec: Math.round(s.elapsedSec * 10) / 10,
  };
}

/** A `capture.stats` line this often during a live capture (at level info). */
const STATS_LOG_INTERVAL_SEC = 60;

/** Options whose value may be negative: `--opt -1` would otherwise read `-1` as a flag. */
const NEGATIVE_VALUE_OPTIONS = new Set(['--websocket-sample-rate']);

function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (NEGATIVE_VALUE_OPTIONS.has(a) && next !== undefined && /^-\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function mapDefined<T, U>(v: T | undefined, f: (v: T) => U): U | undefined {
  return v === undefined ? undefined : f(v);
}

/** Live capture until SIGINT/SIGTERM (or --duration): then drain, close files, exit 0. */
async function liveCapture(
  config: CaptureConfig,
  values: {
    json?: boolean | undefined;
    quiet?: boolean | undefined;
    'no-progress'?: boolean | undefined;
  },
  metricsAt: MetricsEndpoint | null,
  log: EventLog,
): Promise<number> {
  const { runLiveCapture } = await import('../capture/live-capture.ts');
  const status =
    !values['no-progress'] && !values.quiet && !values.json && process.stderr.isTTY
      ? (await import('./live-status.ts')).startLiveStatus()
      : null;
  const abort = new AbortController();
  const stop = (): void => {
    abort.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const metrics = metricsAt === null ? null : await startMetrics(metricsAt, config.interfaces);
  let nextStatsSec = STATS_LOG_INTERVAL_SEC;
  const logStats = (p: LiveCaptureProgress): void => {
    if (p.elapsedSec < nextStatsSec || !log.enabled('info')) return;
    nextStatsSec = p.elapsedSec + STATS_LOG_INTERVAL_SEC;
    log.info(
      'capture.stats',
      {
        packets: p.flow.packets,
        kernelDrops: p.kernel?.drops ?? 0,
        flowsActive: p.flow.flowsActive,
        packetsWritten: p.flow.packetsWritten,
        pcapDropped: p.output?.packetsDropped ?? 0,
        diskFull: p.output?.diskFull ?? false,
      },
      'capture running',
    );
  };
  let summary: LiveCaptureSummary;
  try {
    summary = await runLiveCapture(config, {
      signal: abort.signal,
      ...(status || metrics
        ? {
            onProgress: (p: LiveCaptureProgress) => {
              status?.update(p);
              metrics?.metrics.update(p);
              logStats(p);
            },
          }
        : { onProgress: logStats }),
      pcapEvents: pcapEvents(log),
      onStarted: (fanout) => {
        log.info(
          'capture.start',
          {
            interfaces: config.interfaces,
            engine: config.live.engine,
            workers: config.live.workers,
          },
          'capture started',
        );
        if (fanout && fanout.split > 0) {
          log.warn('capture.fanout_split', { ...fanout }, 'fanout hash splits flows');
          process.stderr.write(
            `tapgate: WARNING: this kernel's fanout hash split ${String(fanout.split)} of ${String(fanout.flows)} test flows between workers; flows will be split (use --workers 1)\n`,
          );
        }
        if (!values.quiet) {
          const w = config.live.workers;
          process.stderr.write(
            `tapgate: capturing on ${config.interfaces.join(', ')} (${config.live.engine}, ${w} worker${w === 1 ? '' : 's'}); stop with Ctrl-C\n`,
          );
        }
      },
    });
  } finally {
    status?.stop();
    await metrics?.server.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  log.info('capture.stop', stopFields(summary), 'capture stopped');
  if (values.json) process.stdout.write(JSON.stringify(summary) + '\n');
  else if (!values.quiet) process.stdout.write(formatLiveSummary(summary));
  return 0;
}

/** The metrics registry and its endpoint (loaded only with --metrics). */
async function startMetrics(
  at: MetricsEndpoint,
  interfaces: readonly string[],
): Promise<{ metrics: CaptureMetrics; server: MetricsServer }> {
  const { CaptureMetrics } = await import('../metrics/capture-metrics.ts');
  const { MetricsServer } = await import('../metrics/metrics-server.ts');
  const metrics = new CaptureMetrics(interfaces);
  return { metrics, server: await MetricsServer.start(metrics, at) };
}

/** `NAME:MATCH:BYTES[:PACKETS]` where MATCH is tcp|udp|icmp|PORT[-PORT]|CIDR joined by `+`. */
export function parseCutoffClassFlag(spec: string): CutoffClass {
  const parts = spec.split(':');
  // CIDRs of IPv6 contain ':' — accept them only in the YAML form.
  if (parts.length < 3 || parts.length > 4) {
    throw new TapgateError(
      'TG_ERR_USAGE',
      `--cutoff-class "${spec}": expected NAME:MATCH:BYTES[:PACKETS] (IPv6 CIDRs: use the YAML config)`,
    );
  }
  const [name, match, bytes, packets] = parts as [string, string, string, string | undefined];
  const protocols: number[] = [];
  const ports: PortRange[] = [];
  const cidrs: Cidr[] = [];
  for (const m of match.split('+')) {
    const proto = protoNumbers[m.toLowerCase()];
    if (proto !== undefined) protocols.push(proto);
    else if (m.includes('.')) cidrs.push(parseCidr(m));
    else ports.push(parsePortRange(m));
  }
  const cls: CutoffClass = {
    name,
    protocols,
    ports,
    cidrs,
    bytes: parseSize(bytes, `--cutoff-class ${name}`),
  };
  if (packets !== undefined) {
    if (!/^\d+$/.test(packets)) {
      throw new TapgateError('TG_ERR_USAGE', `--cutoff-class "${spec}": bad packet count`);
    }
    cls.packets = Number(packets);
  }
  return cls;
}
