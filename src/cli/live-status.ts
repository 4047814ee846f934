/**
 * The status line of a live capture on a terminal: redrawn in place on stderr about once a second,
 * erased before the summary. Rates come from the difference between two updates.
 */
import type { LiveCaptureProgress } from '../capture/live-capture.ts';

export interface LiveStatus {
  update: (p: LiveCaptureProgress) => void;
  stop: () => void;
}

const CLEAR_LINE = '\r\x1b[K';

export function startLiveStatus(stream: NodeJS.WriteStream = process.stderr): LiveStatus {
  let last: { packets: number; sec: number } | null = null;
  let drawn = false;
  const n = (x: number): string => x.toLocaleString('en-US');
  return {
    update(p) {
      const packets = p.flow.packets;
      const kpps =
        last && p.elapsedSec > last.sec
          ? (packets - last.packets) / (p.elapsedSec - last.sec) / 1e3
          : 0;
      last = { packets, sec: p.elapsedSec };
      const drops = p.kernel ? ` | kernel drops ${n(p.kernel.drops)}` : '';
      stream.write(
        `${CLEAR_LINE} ${formatElapsed(p.elapsedSec)} | ${n(packets)} packets (${kpps.toFixed(1)} kpps) | ${n(p.flow.packetsWritten)} written | ${n(p.flow.flowsActive)} flows${drops}`,
      );
      drawn = true;
    },
    stop() {
      if (drawn) stream.write(CLEAR_LINE);
    },
  };
}

function formatElapsed(sec: number): string {
  const s = Math.floor(sec);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (x: number): string => String(x).padStart(2, '0');
  return `${two(hh)}:${two(mm)}:${two(ss)}`;
}
