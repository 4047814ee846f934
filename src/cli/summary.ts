/** The end-of-run summaries a person reads (file input and live capture). */
import type { LiveCaptureSummary } from '../capture/live-capture.ts';
import type { CaptureSummary } from '../capture/run-capture.ts';
import { formatBytes } from '../config/units.ts';
import type { FlowStageStats } from '../flow/flow-stage.ts';
import type { PcapOutputStats } from '../pcap/pcap-output.ts';
import type { NamedSinkStats } from '../record/sinks/sink-target.ts';
import type { SniffStats } from '../sniff/sniff-stage.ts';

const n = (x: number): string => x.toLocaleString('en-US');
const pct = (part: number, whole: number): string =>
  whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%';

export function formatSummary(s: CaptureSummary): string {
  const f = s.flow;
  const mpps = s.elapsedSec > 0 ? f.packets / s.elapsedSec / 1e6 : 0;
  const lines = [
    `tapgate capture: ${s.input} (${s.format}${s.compressedInput ? ', gzip' : ''})${s.aborted ? ' — stopped early' : ''}`,
    `  read       ${n(f.packets)} packets, ${formatBytes(f.bytes)} in ${s.elapsedSec.toFixed(2)} s (${mpps.toFixed(2)} Mpps, CPU ${s.cpuSec.toFixed(2)} s)`,
    ...pipelineLines(f, s.output, s.source.errors),
    ...sniffLines(s.sniff),
    ...sinkLines(s.sinks),
  ];
  return lines.join('\n') + '\n';
}

export function formatLiveSummary(s: LiveCaptureSummary): string {
  const f = s.flow;
  const cpuPerPacket = f.packets > 0 ? (s.cpuSec * 1e6) / f.packets : 0;
  const lines = [
    `tapgate capture: ${s.interfaces.join(', ')} (${s.engine}, ${s.workers} worker${s.workers === 1 ? '' : 's'}) — stopped by ${s.stoppedBy}`,
    `  captured   ${n(f.packets)} packets, ${formatBytes(f.bytes)} in ${s.elapsedSec.toFixed(2)} s (CPU ${s.cpuSec.toFixed(2)} s, ${cpuPerPacket.toFixed(2)} µs/packet)`,
  ];
  if (s.kernel) {
    lines.push(
      `  kernel     ${n(s.kernel.packets)} packets to the rings, ${n(s.kernel.drops)} dropped, ${n(s.kernel.freezes)} queue freezes`,
    );
  }
  if (s.libpcap) {
    lines.push(
      `  libpcap    ${n(s.libpcap.packets)} packets, ${n(s.libpcap.framesDroppedBackpressure)} dropped (workers behind), ${n(s.libpcap.truncated)} truncated`,
    );
  }
  for (const [name, c] of Object.entries(s.interfaceCounters)) {
    lines.push(
      `  ${name.padEnd(10)} rx ${n(c.rxPackets)} packets, rx_dropped ${n(c.rxDropped)}, rx_missed_errors ${n(c.rxMissedErrors)}`,
    );
  }
  lines.push(...pipelineLines(f, s.output, {}), ...sniffLines(s.sniff), ...sinkLines(s.sinks));
  if (s.affinityViolations > 0) {
    lines.push(`  WARNING    ${n(s.affinityViolations)} flows seen by more than one worker`);
  }
  return lines.join('\n') + '\n';
}

function pipelineLines(
  f: FlowStageStats,
  output: PcapOutputStats | null,
  sourceErrors: Record<string, number>,
): string[] {
  const lines = [
    `  flows      ${n(f.flowsCreated)} created, ${n(f.flowsCut)} past cutoff, ${n(f.flowsEnded.evicted ?? 0)} evicted`,
    `  written    ${n(f.packetsWritten)} packets, ${formatBytes(f.bytesWritten)} (${pct(f.bytesWritten, f.bytes)} of bytes)`,
    `  cutoff     ${n(f.packetsCut)} packets, ${formatBytes(f.bytesCut)} not written (saved ${pct(f.bytesCut, f.bytes)})`,
  ];
  if (output) {
    const o = output;
    lines.push(
      `  files      ${n(o.filesClosed)} closed, ${formatBytes(o.fileBytesWritten)} on disk` +
        (o.retentionDeletedFiles > 0
          ? `, ${n(o.retentionDeletedFiles)} deleted by retention`
          : '') +
        (o.recoveredFiles > 0 ? `, ${n(o.recoveredFiles)} recovered from a crash` : ''),
    );
    if (o.gzipChunksStored > 0) {
      lines.push(
        `  gzip       ${n(o.gzipChunksDeflated)} chunks deflated, ${n(o.gzipChunksStored)} stored (deflate saved < --gzip-min-saving)`,
      );
    }
    if (o.writeErrors > 0) lines.push(`  WARNING    ${n(o.writeErrors)} write errors`);
    if (o.diskFullEvents > 0) {
      lines.push(
        `  WARNING    disk full ${n(o.diskFullEvents)}×${o.diskFull ? ' (still full)' : ''}: ` +
          `${n(o.packetsDropped)} packets dropped, ${n(o.packetsLost)} lost, ` +
          `${n(o.diskFullDeletedFiles)} old files deleted early, ${n(o.salvagePending)} to salvage at next start`,
      );
    }
    if (o.packetsDropped > 0) {
      lines.push(
        `  WARNING    ${n(o.packetsDropped)} packets dropped by the writer (disk too slow)`,
      );
    }
  }
  const problems = { ...sourceErrors, ...f.decodeIssues };
  const keys = Object.keys(problems).filter((k) => (problems[k] ?? 0) > 0);
  if (keys.length > 0) {
    lines.push(`  counted    ${keys.map((k) => `${k}=${n(problems[k] ?? 0)}`).join(' ')}`);
  }
  return lines;
}

function sniffLines(s: SniffStats | null): string[] {
  if (!s) return [];
  const total = Object.values(s.records).reduce((a, b) => a + b, 0);
  const byProto = Object.entries(s.records)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(', ');
  const lines = [
    `  records    ${n(total)}${byProto ? ` (${byProto})` : ''} from ${n(s.sessionsCreated)} sniffed flows`,
  ];
  const errors = Object.entries(s.parseErrors);
  if (errors.length > 0) {
    lines.push(`  parse      ${errors.map(([k, v]) => `${k}=${n(v)}`).join(' ')}`);
  }
  if (s.reassemblyEvictions > 0) {
    lines.push(
      `  reassembly ${n(s.reassemblyEvictions)} buffer evictions (${formatBytes(s.reassemblyEvictedBytes)} skipped as gaps)`,
    );
  }
  return lines;
}

/** One line per recorder: `sink NAME (KIND) delivered …`. */
function sinkLines(sinks: readonly NamedSinkStats[] | undefined): string[] {
  return (sinks ?? []).map(({ name, kind, stats: t }) => {
    const extra =
      (t.queued > 0 ? `, ${n(t.queued)} still queued` : '') +
      (t.spooled > 0 ? `, ${n(t.spooled)} spooled` : '');
    return `  sink       ${name} (${kind}): ${n(t.delivered)} delivered, ${n(t.dropped)} dropped, ${n(t.errors)} failed attempts${extra}`;
  });
}
