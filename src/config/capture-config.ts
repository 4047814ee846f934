/**
 * The capture job's settings: the resolved shape the pipeline runs with. The `capture:` section of
 * tapgate.yaml that produces it is read by capture-config-yaml.ts. Precedence: built-in defaults < YAML < command-line flags.
 *
 *   capture:
 *     read: /data/in.pcap          # file, or - for stdin
 *     output:
 *       dir: /var/lib/tapgate/pcap # omit (and no -w) to skip pcap writing
 *       compress: true
 *       gzipLevel: 6
 *       rotateInterval: 60s
 *       rotateSize: 1G
 *       retainSize: 500G
 *       retainAge: 7d
 *     flows:
 *       maxFlows: 1000000
 *       timeouts: { tcp: 5m, udp: 60s, other: 30s, tcpClosed: 5s }
 *     cutoff:
 *       bytes: 64k
 *       packets: 1000
 *       perDirection: false
 *       classes:
 *         - { name: dns, match: { proto: udp, ports: [53] }, bytes: 0, packets: 0 }
 *         - { name: tls, match: { proto: tcp, ports: [443, 8443] }, bytes: 16k }
 *         - { name: lan, match: { cidrs: [10.0.0.0/8] }, bytes: 1M }
 */
import { TapgateError } from '../errors.ts';
import type { CutoffClass, PortRange } from '../flow/cutoff.ts';
import { defaults } from './defaults.ts';

export interface CaptureConfig {
  /** Capture file path, or '-' for stdin. */
  input: string;
  /** Output root for pcap files; null skips pcap writing. */
  outDir: string | null;
  /** Name used in output file names; defaults to the input's base name. */
  sourceName: string | null;
  compress: boolean;
  gzipLevel: number;
  rotateIntervalSec: number;
  rotateSizeBytes: number;
  retainSizeBytes: number;
  retainAgeSec: number;
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

export function defaultCaptureConfig(): Omit<CaptureConfig, 'input'> & { input: string | null } {
  return {
    input: null,
    outDir: null,
    sourceName: null,
    compress: defaults.compress,
    gzipLevel: defaults.gzipLevel,
    rotateIntervalSec: defaults.rotateIntervalSec,
    rotateSizeBytes: defaults.rotateSizeBytes,
    retainSizeBytes: defaults.retainSizeBytes,
    retainAgeSec: defaults.retainAgeSec,
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
    const { cutoff, flows, ...flat } = p;
    Object.assign(c, stripUndefined(flat));
    if (cutoff) Object.assign(c.cutoff, stripUndefined(cutoff));
    if (flows) Object.assign(c.flows, stripUndefined(flows));
  }
  if (c.input === null) {
    throw new TapgateError(
      'TG_ERR_USAGE',
      'no input: give -r FILE (or capture.read in the config)',
    );
  }
  if (!(c.flows.maxFlows >= 1)) throw new TapgateError('TG_ERR_CONFIG', 'maxFlows must be ≥ 1');
  if (!Number.isInteger(c.gzipLevel) || c.gzipLevel < 1 || c.gzipLevel > 9) {
    throw new TapgateError('TG_ERR_CONFIG', 'gzipLevel must be an integer from 1 to 9');
  }
  return { ...c, input: c.input };
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
