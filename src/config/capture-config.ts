/**
 * The capture job's settings: the resolved shape the pipeline runs with. The `capture:` section of
 * tapgate.yaml that produces it is read by capture-config-yaml.ts. Precedence: built-in defaults < YAML < command-line flags.
 *
 *   capture:
 *     read: /data/in.pcap          # file, or - for stdin; or, for live capture:
 *     interfaces: [eth0, eth1]     # (exactly one of read / interfaces)
 *     live:
 *       engine: af-packet          # or pcap (libpcap through the cap package)
 *       workers: 1                 # default: cores − 1, at least 1
 *       snapLen: 262144
 *       filter: "not port 22"      # tcpdump syntax
 *       promisc: true
 *       ringBlockSize: 1M          # af-packet: TPACKET_V3 block size, count and retire timeout
 *       ringBlocks: 64
 *       ringBlockTimeout: 10ms
 *       pcapBufferSize: 64M        # pcap: libpcap's kernel buffer
 *     output:
 *       dir: /var/lib/tapgate/pcap # omit (and no -w) to skip pcap writing
 *       compress: true
 *       gzipLevel: 6
 *       gzipMinSaving: 20%         # store chunks deflate cannot shrink by this much
 *       rotateInterval: 60s
 *       rotateSize: 1G
 *       retainSize: 500G
 *       retainAge: 7d
 *     flows:
 *       maxFlows: 1000000
 *       timeouts: { tcp: 5m, udp: 60s, other: 30s, tcpClosed: 5s }
 *     records: /var/log/tapgate/records.jsonl   # GOST-shaped JSON lines; - = stdout
 *     sniffing:                    # used only when records are written
 *       http.body: false           # capture bodies and WebSocket payloads
 *       http.maxBodySize: 64k      # per body / frame (capped at 1M)
 *       websocket: true            # one record per sampled WebSocket frame
 *       websocket.sampleRate: 10   # frames/s per direction; < 0 = every frame
 *       dnsPorts: [53, 5353, 5355] # where UDP and TCP are tried as DNS
 *       reassemblyMemory: 256M     # out-of-order TCP bytes held per worker
 *       reassemblyBufferPerSide: 256k
 *     cutoff:
 *       bytes: 64k
 *       packets: 1000
 *       perDirection: false
 *       classes:
 *         - { name: dns, match: { proto: udp, ports: [53] }, bytes: 0, packets: 0 }
 *         - { name: tls, match: { proto: tcp, ports: [443, 8443] }, bytes: 16k }
 *         - { name: lan, match: { cidrs: [10.0.0.0/8] }, bytes: 1M }
 */
import { availableParallelism } from 'node:os';
import { TapgateError } from '../errors.ts';
import type { CutoffClass, PortRange } from '../flow/cutoff.ts';
import { MAX_BODY_SIZE_CAP, type SniffConfig } from '../sniff/sniffer.ts';
import { defaults } from './defaults.ts';
import type { LogLevel } from './log-level.ts';
import type { RecorderSpec } from '../record/sinks/recorder-spec.ts';

export type CaptureEngine = 'af-packet' | 'pcap';

/** How a live capture runs (ignored for file input). */
export interface LiveCaptureSettings {
  engine: CaptureEngine;
  /** Capture worker threads; each owns the flows the fanout hash gives it. */
  workers: number;
  snapLen: number;
  /** tcpdump filter expression compiled by libpcap; '' = everything. */
  filter: string;
  promisc: boolean;
  ringBlockSizeBytes: number;
  ringBlocks: number;
  ringBlockTimeoutMs: number;
  pcapBufferBytes: number;
  /** Stop after this long; 0 = until SIGINT/SIGTERM (or the abort signal). */
  durationSec: number;
}

/** Reassembly and sniffer settings (only used when records are written). */
export interface SniffSettings extends SniffConfig {
  reassemblyMemoryBytes: number;
  reassemblyPerSideBytes: number;
}

export interface CaptureConfig {
  /** Capture file path, or '-' for stdin; null for live capture. */
  input: string | null;
  /** Interfaces to capture from live; empty for file input. */
  interfaces: string[];
  live: LiveCaptureSettings;
  /** Output root for pcap files; null skips pcap writing. */
  outDir: string | null;
  /** Name used in output file names; defaults to the input's base name. */
  sourceName: string | null;
  compress: boolean;
  gzipLevel: number;
  /** 0..1: deflate only while it saves at least this fraction (see pcap-gzip-policy.ts). */
  gzipMinSaving: number;
  rotateIntervalSec: number;
  rotateSizeBytes: number;
  retainSizeBytes: number;
  retainAgeSec: number;
  /** JSON-lines records file ('-' = stdout); null: no records, and no reassembly or sniffing. */
  recordsPath: string | null;
  /** Record sinks (`capture.recorders` selecting top-level `recorders`); also enable sniffing. */
  recorders: RecorderSpec[];
  /** `HOST:PORT` for /metrics and /healthz (top-level `metrics.addr`); null: no endpoint. */
  metricsAddr: string | null;
  /** Structured log level (top-level `log.level`): pino's names; 'warn' unless set. */
  logLevel: LogLevel;
  sniff: SniffSettings;
  cutoff: {
    bytes: number;
    packets: number;
    perDirection: boolean;
    classes: CutoffClass[];
  };
  flows: {
    maxFlows: number;
    tcpTimeoutSec: number;
    udpTimeoutSec: number;
    otherTimeoutSec: number;
    tcpClosedTimeoutSec: number;
  };
}

/** Recursive partial: what a YAML file or a set of flags may set. */
export type CaptureConfigPatch = {
  [K in keyof CaptureConfig]?: CaptureConfig[K] extends object | null
    ? CaptureConfig[K] extends unknown[] | null
      ? CaptureConfig[K]
      : Partial<CaptureConfig[K]>
    : CaptureConfig[K];
};

export function defaultCaptureConfig(): CaptureConfig {
  return {
    input: null,
    interfaces: [],
    live: {
      engine: defaults.engine,
      workers: defaultWorkerCount(),
      snapLen: defaults.snapLen,
      filter: '',
      promisc: true,
      ringBlockSizeBytes: defaults.ringBlockSizeBytes,
      ringBlocks: defaults.ringBlocks,
      ringBlockTimeoutMs: defaults.ringBlockTimeoutMs,
      pcapBufferBytes: defaults.pcapBufferBytes,
      durationSec: 0,
    },
    outDir: null,
    sourceName: null,
    compress: defaults.compress,
    gzipLevel: defaults.gzipLevel,
    gzipMinSaving: defaults.gzipMinSaving,
    rotateIntervalSec: defaults.rotateIntervalSec,
    rotateSizeBytes: defaults.rotateSizeBytes,
    retainSizeBytes: defaults.retainSizeBytes,
    retainAgeSec: defaults.retainAgeSec,
    recordsPath: null,
    recorders: [],
    metricsAddr: null,
    logLevel: 'warn',
    sniff: {
      httpBody: defaults.httpBody,
      httpMaxBodySize: defaults.httpMaxBodySize,
      websocketFrames: defaults.websocketFrames,
      websocketSampleRate: defaults.websocketSampleRate,
      dnsPorts: defaults.dnsPorts,
      reassemblyMemoryBytes: defaults.reassemblyMemoryBytes,
      reassemblyPerSideBytes: defaults.reassemblyPerSideBytes,
    },
    cutoff: {
      bytes: defaults.cutoffBytes,
      packets: defaults.cutoffPackets,
      perDirection: defaults.cutoffPerDirection,
      classes: [],
    },
    flows: {
      maxFlows: defaults.maxFlows,
      tcpTimeoutSec: defaults.tcpTimeoutSec,
      udpTimeoutSec: defaults.udpTimeoutSec,
      otherTimeoutSec: defaults.otherTimeoutSec,
      tcpClosedTimeoutSec: defaults.tcpClosedTimeoutSec,
    },
  };
}

/** Applies patches in order over the defaults and checks the result. */
export function resolveCaptureConfig(...patches: CaptureConfigPatch[]): CaptureConfig {
  const c = defaultCaptureConfig();
  for (const p of patches) {
    const { cutoff, flows, live, sniff, ...flat } = p;
    Object.assign(c, stripUndefined(flat));
    if (sniff) Object.assign(c.sniff, stripUndefined(sniff));
    if (cutoff) Object.assign(c.cutoff, stripUndefined(cutoff));
    if (flows) Object.assign(c.flows, stripUndefined(flows));
    if (live) Object.assign(c.live, stripUndefined(live));
  }
  if ((c.input === null) === (c.interfaces.length === 0)) {
    throw new TapgateError(
      'TG_ERR_USAGE',
      c.input === null
        ? 'no input: give -r FILE or -i INTERFACE (or capture.read / capture.interfaces in the config)'
        : 'give either a file (-r) or interfaces (-i), not both',
    );
  }
  if (!(c.flows.maxFlows >= 1)) throw new TapgateError('TG_ERR_CONFIG', 'maxFlows must be ≥ 1');
  if (!Number.isInteger(c.gzipLevel) || c.gzipLevel < 1 || c.gzipLevel > 9) {
    throw new TapgateError('TG_ERR_CONFIG', 'gzipLevel must be an integer from 1 to 9');
  }
  if (!(c.gzipMinSaving >= 0 && c.gzipMinSaving <= 1)) {
    throw new TapgateError('TG_ERR_CONFIG', 'gzipMinSaving must be from 0% to 100%');
  }
  checkLiveSettings(c.live);
  checkSniffSettings(c.sniff);
  return c;
}

/** Cores − 1 (one core is left to the kernel's packet path and the main thread), at least 1. */
export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

const MAX_WORKERS = 64;

function checkLiveSettings(l: LiveCaptureSettings): void {
  const fail = (msg: string): never => {
    throw new TapgateError('TG_ERR_CONFIG', msg);
  };
  const engine: string = l.engine; // from YAML or JS callers: checked at run time as well
  if (engine !== 'af-packet' && engine !== 'pcap') {
    fail(`engine must be af-packet or pcap, got "${engine}"`);
  }
  if (!Number.isInteger(l.workers) || l.workers < 1 || l.workers > MAX_WORKERS) {
    fail(`workers must be an integer from 1 to ${MAX_WORKERS}`);
  }
  if (!Number.isInteger(l.snapLen) || l.snapLen < 64 || l.snapLen > 262144) {
    fail('snapLen must be an integer from 64 to 262144');
  }
  const page = 4096;
  const b = l.ringBlockSizeBytes;
  if (!Number.isInteger(b) || b < page || b > 1 << 30 || (b & (b - 1)) !== 0) {
    fail('ring block size must be a power of two from 4k to 1G');
  }
  if (!Number.isInteger(l.ringBlocks) || l.ringBlocks < 2 || l.ringBlocks > 65536) {
    fail('ring blocks must be an integer from 2 to 65536');
  }
  if (!(l.ringBlockTimeoutMs >= 1 && l.ringBlockTimeoutMs <= 60000)) {
    fail('ring block timeout must be from 1ms to 60s');
  }
  if (!(l.pcapBufferBytes >= 1 << 20)) fail('pcap buffer size must be at least 1M');
  if (!(l.durationSec >= 0)) fail('duration must be ≥ 0');
}

function checkSniffSettings(s: SniffSettings): void {
  // GOST: 0 means the default, and the size is capped at 1 MiB.
  if (s.httpMaxBodySize === 0) s.httpMaxBodySize = defaults.httpMaxBodySize;
  if (!Number.isSafeInteger(s.httpMaxBodySize) || s.httpMaxBodySize < 0) {
    throw new TapgateError('TG_ERR_CONFIG', 'http.maxBodySize must be a size ≥ 0');
  }
  s.httpMaxBodySize = Math.min(s.httpMaxBodySize, MAX_BODY_SIZE_CAP);
  if (s.dnsPorts.some((p) => !Number.isInteger(p) || p < 1 || p > 65535)) {
    throw new TapgateError('TG_ERR_CONFIG', 'dnsPorts must be ports from 1 to 65535');
  }
  if (!Number.isFinite(s.websocketSampleRate)) {
    throw new TapgateError('TG_ERR_CONFIG', 'websocket.sampleRate must be a number');
  }
  if (!(s.reassemblyMemoryBytes >= 1 << 20)) {
    throw new TapgateError('TG_ERR_CONFIG', 'reassemblyMemory must be at least 1M');
  }
  if (!(s.reassemblyPerSideBytes >= 4096 && s.reassemblyPerSideBytes <= s.reassemblyMemoryBytes)) {
    throw new TapgateError(
      'TG_ERR_CONFIG',
      'reassemblyBufferPerSide must be from 4k to reassemblyMemory',
    );
  }
}

export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export const protoNumbers: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 };

/** `443` or `8000-8100`. */
export function parsePortRange(v: string | number): PortRange {
  const m = /^(\d+)(?:-(\d+))?$/.exec(String(v).trim());
  const from = m ? Number(m[1]) : NaN;
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!(from >= 0 && to <= 65535 && from <= to)) {
    throw new TapgateError('TG_ERR_CONFIG', `"${v}" is not a port or port range (0-65535)`);
  }
  return { from, to };
}
