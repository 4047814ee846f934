/**
 * tapgate's Prometheus metrics for a capture job, read from the stats snapshots the job already
 * reports (progress callbacks, workers' counter messages): nothing is counted twice and nothing is
 * added to the packet path. At scrape time every metric sets itself from the latest snapshot, so
 * counters are the job's own totals, summed over the worker threads.
 *
 * Naming (stack.md §5): `tapgate_` prefix, base units, `_total` on counters; labels are bounded
 * (worker, interface, cause, reason, proto, sink) and never carry addresses or hosts. The registry
 * holds only these metrics, so `promtool check metrics` can lint it; process metrics live in a
 * registry of their own (metrics-server.ts merges them on scrape).
 */
import { readFileSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { KernelRingStats } from '../capture/live-capture.ts';
import type { WorkerCounters } from '../capture/live-protocol.ts';
import type { FlowStageStats } from '../flow/flow-stage.ts';
import { FLOW_SIZE_BOUNDS } from '../flow/flow-table.ts';
import type { PcapOutputStats } from '../pcap/pcap-types.ts';
import type { NamedSinkStats } from '../record/sinks/sink-target.ts';
import type { SniffStats } from '../sniff/sniff-stage.ts';
import { version } from '../version.ts';

/** What a scrape reads: the latest progress of the running job. */
export interface MetricsSnapshot {
  flow: FlowStageStats;
  /** Live: each worker's latest counters (null before its first report); file input: empty. */
  perWorker: readonly (WorkerCounters | null)[];
  kernel: KernelRingStats | null;
  output: PcapOutputStats | null;
  sniff: SniffStats | null;
  sinks?: readonly NamedSinkStats[];
}

type Labels = Record<string, string | number>;
type Read = (s: MetricsSnapshot) => Iterable<[Labels, number]>;

const NO_LABELS: Labels = {};

/** A job total under one label set. */
function one(value: number | undefined): [Labels, number][] {
  return value === undefined ? [] : [[NO_LABELS, value]];
}

function byKey(record: Record<string, number>, label: string): [Labels, number][] {
  return Object.entries(record).map(([k, v]) => [{ [label]: k }, v]);
}

/** prom-client's Histogram has this method; its type declarations leave it out. */
interface PromStringSource {
  getForPromString(): ReturnType<Histogram['get']>;
}

/**
 * A flow-size histogram built from the flow table's cumulative bucket counts: prom-client's
 * Histogram only observes values one by one, so `get()` is answered from the counts directly.
 */
class FlowSizeHistogram extends Histogram {
  readonly #snapshot: () => MetricsSnapshot | null;

  constructor(registry: Registry, snapshot: () => MetricsSnapshot | null) {
    super({
      name: 'tapgate_flow_size_bytes',
      help: 'Payload bytes of both directions of the flows that ended',
      buckets: FLOW_SIZE_BOUNDS.filter((b) => b > 0),
      registers: [registry],
    });
    this.#snapshot = snapshot;
  }

  override async get(): ReturnType<Histogram['get']> {
    return this.getForPromString();
  }

  /** What the registry prints: it prefers this (untyped in prom-client's .d.ts) to get(). */
  async getForPromString(): ReturnType<Histogram['get']> {
    const base = await (Histogram.prototype as unknown as PromStringSource).getForPromString.call(
      this,
    );
    const flow = this.#snapshot()?.flow;
    const counts = flow?.flowSizeCounts ?? [];
    const values: typeof base.values = [];
    let cumulative = 0;
    FLOW_SIZE_BOUNDS.forEach((bound, i) => {
      cumulative += counts[i] ?? 0;
      // The 0-byte bucket is folded into the first finite one (`le` must be positive to be useful).
      if (bound > 0) {
        values.push({
          metricName: `${base.name}_bucket`,
          labels: { le: bound },
          value: cumulative,
        });
      }
    });
    cumulative += counts[FLOW_SIZE_BOUNDS.length] ?? 0;
    values.push({ metricName: `${base.name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${base.name}_sum`, labels: {}, value: flow?.flowSizeSum ?? 0 });
    values.push({ metricName: `${base.name}_count`, labels: {}, value: cumulative });
    return { ...base, values };
  }
}

/** Counters the gateway increments as it relays (its panels stay empty until it runs). */
export interface GatewayMetrics {
  connections: Counter<'service'>;
  bytes: Counter<'service' | 'direction'>;
  mitmHandshakes: Counter<'result'>;
}

export class CaptureMetrics {
  /** tapgate_* metrics only. */
  readonly registry = new Registry();
  readonly gateway: GatewayMetrics;
  #snapshot: MetricsSnapshot | null = null;
  /** performance.now() of the last update: /healthz reports its age. */
  #updatedAt = 0;
  readonly #interfaces: readonly string[];

  constructor(interfaces: readonly string[] = []) {
    this.#interfaces = interfaces;
    const reg = this.registry;
    const snap = (): MetricsSnapshot | null => this.#snapshot;

    const counter = (name: string, help: string, labelNames: string[], read: Read): void => {
      new Counter({
        name,
        help,
        labelNames,
        registers: [reg],
        collect() {
          const s = snap();
          if (s === null) return;
          this.reset();
          for (const [labels, v] of read(s)) this.inc(labels, v);
        },
      });
    };
    const gauge = (name: string, help: string, labelNames: string[], read: Read): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers: [reg],
        collect() {
          const s = snap();
          if (s === null) return;
          this.reset();
          for (const [labels, v] of read(s)) this.set(labels, v);
        },
      });
    };

    new Gauge({
      name: 'tapgate_build_info',
      help: 'tapgate version (value 1)',
      labelNames: ['version'],
      registers: [reg],
    }).set({ version }, 1);

    // Capture: per worker (live) or the one thread reading a file.
    const perWorker = (s: MetricsSnapshot, f: (w: WorkerCounters) => number): [Labels, number][] =>
      s.perWorker.length === 0
        ? []
        : s.perWorker.flatMap((w, i) => (w === null ? [] : [[{ worker: i }, f(w)]]));
    counter('tapgate_packets_received_total', 'Frames the capture processed', ['worker'], (s) =>
      s.perWorker.length > 0
        ? perWorker(s, (w) => w.flow.packets)
        : [[{ worker: 0 }, s.flow.packets]],
    );
    counter('tapgate_received_bytes_total', 'Captured bytes processed', ['worker'], (s) =>
      s.perWorker.length > 0 ? perWorker(s, (w) => w.flow.bytes) : [[{ worker: 0 }, s.flow.bytes]],
    );
    counter(
      'tapgate_kernel_ring_packets_total',
      'Packets the kernel passed to the rings',
      [],
      (s) => one(s.kernel?.packets),
    );
    counter('tapgate_kernel_ring_drops_total', 'Packets the kernel dropped: ring full', [], (s) =>
      one(s.kernel?.drops),
    );
    counter('tapgate_kernel_ring_freezes_total', 'Times a ring was full and froze', [], (s) =>
      one(s.kernel?.freezes),
    );
    for (const [name, help, field] of [
      [
        'tapgate_interface_rx_packets_total',
        'Packets the interface received (since boot)',
        'rx_packets',
      ],
      [
        'tapgate_interface_rx_dropped_total',
        'Packets the kernel stack dropped on the interface',
        'rx_dropped',
      ],
      [
        'tapgate_interface_rx_missed_total',
        'Packets the NIC lost before the kernel saw them',
        'rx_missed_errors',
      ],
    ] as const) {
      counter(name, help, ['interface'], () =>
        this.#interfaces.map(
          (i) => [{ interface: i }, readStatistic(i, field)] as [Labels, number],
        ),
      );
    }
    counter('tapgate_decode_errors_total', 'Frames with a decode issue, by cause', ['cause'], (s) =>
      byKey(s.flow.decodeIssues, 'cause'),
    );

    // Flows and cutoff.
    gauge('tapgate_flows_active', 'Flows tracked now', [], (s) => one(s.flow.flowsActive));
    counter('tapgate_flows_created_total', 'Flows created', [], (s) => one(s.flow.flowsCreated));
    counter('tapgate_flows_ended_total', 'Flows ended, by reason', ['reason'], (s) =>
      byKey(s.flow.flowsEnded, 'reason'),
    );
    counter('tapgate_flows_cut_total', 'Flows that passed their cutoff', [], (s) =>
      one(s.flow.flowsCut),
    );
    counter('tapgate_cutoff_written_packets_total', 'Packets the cutoff let through', [], (s) =>
      one(s.flow.packetsWritten),
    );
    counter('tapgate_cutoff_written_bytes_total', 'Bytes the cutoff let through', [], (s) =>
      one(s.flow.bytesWritten),
    );
    counter(
      'tapgate_cutoff_skipped_packets_total',
      'Packets the cutoff kept out of pcap',
      [],
      (s) => one(s.flow.packetsCut),
    );
    counter('tapgate_cutoff_skipped_bytes_total', 'Bytes the cutoff kept out of pcap', [], (s) =>
      one(s.flow.bytesCut),
    );
    new FlowSizeHistogram(reg, snap);

    // pcap output.
    const out = (read: (o: PcapOutputStats) => number) => (s: MetricsSnapshot) =>
      one(s.output === null ? undefined : read(s.output));
    counter(
      'tapgate_pcap_files_closed_total',
      'pcap files finished',
      [],
      out((o) => o.filesClosed),
    );
    counter(
      'tapgate_pcap_disk_bytes_total',
      'Bytes written to disk (after gzip)',
      [],
      out((o) => o.fileBytesWritten),
    );
    counter(
      'tapgate_pcap_packets_dropped_total',
      'Frames not written: no file or buffers full',
      [],
      out((o) => o.packetsDropped),
    );
    counter(
      'tapgate_pcap_packets_lost_total',
      'Frames accepted but lost to a write error',
      [],
      out((o) => o.packetsLost),
    );
    counter(
      'tapgate_pcap_write_errors_total',
      'Failed pcap file operations',
      [],
      out((o) => o.writeErrors),
    );
    counter(
      'tapgate_pcap_retention_deleted_files_total',
      'Files deleted by retention',
      [],
      out((o) => o.retentionDeletedFiles),
    );
    counter(
      'tapgate_pcap_retention_deleted_bytes_total',
      'Bytes deleted by retention',
      [],
      out((o) => o.retentionDeletedBytes),
    );
    gauge(
      'tapgate_pcap_archive_bytes',
      'Bytes of finished pcap files under the output root',
      [],
      out((o) => o.archiveBytes),
    );
    gauge(
      'tapgate_pcap_buffered_bytes',
      'Bytes on their way to disk',
      [],
      out((o) => o.bufferedBytes),
    );
    gauge(
      'tapgate_pcap_disk_full',
      '1 while the output file system is full',
      [],
      out((o) => (o.diskFull ? 1 : 0)),
    );

    // Reassembly, sniffers, records.
    const sn = (read: (x: SniffStats) => number) => (s: MetricsSnapshot) =>
      one(s.sniff === null ? undefined : read(s.sniff));
    gauge(
      'tapgate_sniff_sessions_active',
      'Flows being sniffed now',
      [],
      sn((x) => x.sessionsActive),
    );
    gauge(
      'tapgate_reassembly_buffered_bytes',
      'Out-of-order TCP bytes held',
      [],
      sn((x) => x.reassemblyMemoryUsed),
    );
    counter(
      'tapgate_reassembly_evictions_total',
      'Out-of-order buffers given up (memory cap)',
      [],
      sn((x) => x.reassemblyEvictions),
    );
    counter(
      'tapgate_reassembly_evicted_bytes_total',
      'Bytes of the buffers given up',
      [],
      sn((x) => x.reassemblyEvictedBytes),
    );
    counter(
      'tapgate_reassembly_gaps_total',
      'Gaps in the TCP streams of ended flows (bytes never captured)',
      [],
      sn((x) => x.reassemblyGaps),
    );
    counter(
      'tapgate_reassembly_gap_bytes_total',
      'Bytes missing in those gaps',
      [],
      sn((x) => x.reassemblyGapBytes),
    );
    counter('tapgate_records_total', 'Records the sniffers produced, by proto', ['proto'], (s) =>
      s.sniff === null ? [] : byKey(s.sniff.records, 'proto'),
    );
    counter('tapgate_sniffer_parse_errors_total', 'Sniffer parse errors', ['proto', 'code'], (s) =>
      s.sniff === null
        ? []
        : Object.entries(s.sniff.parseErrors).map(([k, v]) => {
            const colon = k.indexOf(':');
            return [{ proto: k.slice(0, colon), code: k.slice(colon + 1) }, v] as [Labels, number];
          }),
    );

    // Record sinks.
    const sink = (read: (x: NamedSinkStats['stats']) => number) => (s: MetricsSnapshot) =>
      (s.sinks ?? []).map(
        (x) => [{ sink: x.name, kind: x.kind }, read(x.stats)] as [Labels, number],
      );
    counter(
      'tapgate_sink_delivered_records_total',
      'Records a sink delivered',
      ['sink', 'kind'],
      sink((x) => x.delivered),
    );
    counter(
      'tapgate_sink_dropped_records_total',
      'Records a sink gave up',
      ['sink', 'kind'],
      sink((x) => x.dropped),
    );
    counter(
      'tapgate_sink_errors_total',
      'Failed delivery attempts',
      ['sink', 'kind'],
      sink((x) => x.errors),
    );
    gauge(
      'tapgate_sink_queue_records',
      'Records waiting in a sink queue',
      ['sink', 'kind'],
      sink((x) => x.queued),
    );

    // Gateway: incremented by the gateway itself.
    this.gateway = {
      connections: new Counter({
        name: 'tapgate_gateway_connections_total',
        help: 'Connections the gateway accepted',
        labelNames: ['service'],
        registers: [reg],
      }),
      bytes: new Counter({
        name: 'tapgate_gateway_bytes_total',
        help: 'Bytes the gateway relayed',
        labelNames: ['service', 'direction'],
        registers: [reg],
      }),
      mitmHandshakes: new Counter({
        name: 'tapgate_gateway_mitm_handshakes_total',
        help: 'TLS interceptions, by result (ok, failed)',
        labelNames: ['result'],
        registers: [reg],
      }),
    };
  }

  /** The job's latest progress. */
  update(snapshot: MetricsSnapshot): void {
    this.#snapshot = snapshot;
    this.#updatedAt = performance.now();
  }

  /** Seconds since the last update; Infinity before the first. */
  get ageSec(): number {
    return this.#snapshot === null ? Infinity : (performance.now() - this.#updatedAt) / 1000;
  }
}

/** A cumulative interface counter from /sys (0 when unreadable: the interface went away). */
function readStatistic(iface: string, field: string): number {
  try {
    return Number(readFileSync(`/sys/class/net/${iface}/statistics/${field}`, 'utf8'));
  } catch {
    return 0;
  }
}
