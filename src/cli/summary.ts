/** The end-of-run summary a person reads. */
import type { CaptureSummary } from '../capture/run-capture.ts';
import { formatBytes } from '../config/units.ts';

export function formatSummary(s: CaptureSummary): string {
  const f = s.flow;
  const n = (x: number): string => x.toLocaleString('en-US');
  const pct = (part: number, whole: number): string =>
    whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '0%';
  const mpps = s.elapsedSec > 0 ? f.packets / s.elapsedSec / 1e6 : 0;
  const lines = [
    `tapgate capture: ${s.input} (${s.format}${s.compressedInput ? ', gzip' : ''})${s.aborted ? ' — stopped early' : ''}`,
    `  read       ${n(f.packets)} packets, ${formatBytes(f.bytes)} in ${s.elapsedSec.toFixed(2)} s (${mpps.toFixed(2)} Mpps, CPU ${s.cpuSec.toFixed(2)} s)`,
    `  flows      ${n(f.flowsCreated)} created, ${n(f.flowsCut)} past cutoff, ${n(f.flowsEnded.evicted ?? 0)} evicted`,
    `  written    ${n(f.packetsWritten)} packets, ${formatBytes(f.bytesWritten)} (${pct(f.bytesWritten, f.bytes)} of bytes)`,
    `  cutoff     ${n(f.packetsCut)} packets, ${formatBytes(f.bytesCut)} not written (saved ${pct(f.bytesCut, f.bytes)})`,
  ];
  if (s.output) {
    const o = s.output;
    lines.push(
      `  files      ${n(o.filesClosed)} closed, ${formatBytes(o.fileBytesWritten)} on disk` +
        (o.retentionDeletedFiles > 0
          ? `, ${n(o.retentionDeletedFiles)} deleted by retention`
          : '') +
        (o.recoveredFiles > 0 ? `, ${n(o.recoveredFiles)} recovered from a crash` : ''),
    );
    if (o.writeErrors > 0) lines.push(`  WARNING    ${n(o.writeErrors)} write errors`);
  }
  const problems = { ...s.source.errors, ...f.decodeIssues };
  const keys = Object.keys(problems).filter((k) => (problems[k] ?? 0) > 0);
  if (keys.length > 0) {
    lines.push(`  counted    ${keys.map((k) => `${k}=${n(problems[k] ?? 0)}`).join(' ')}`);
  }
  return lines.join('\n') + '\n';
}
