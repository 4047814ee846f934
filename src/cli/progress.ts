/** Progress bar for reading a file: input bytes read of total, and packets per second. */
import cliProgress from 'cli-progress';
import type { CaptureProgress } from '../capture/run-capture.ts';
import { formatBytes } from '../config/units.ts';

export interface ProgressBar {
  update: (p: CaptureProgress) => void;
  stop: () => void;
}

export function startProgressBar(): ProgressBar {
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: ' {bar} {percentage}% | {done} of {total_h} | {pps} packets/s | {packets} packets',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(p) {
      const total = p.source.inputBytesTotal || p.source.inputBytesRead || 1;
      const payload = {
        done: formatBytes(p.source.inputBytesRead),
        total_h: p.source.inputBytesTotal ? formatBytes(p.source.inputBytesTotal) : '?',
        pps: Math.round(p.flow.packets / Math.max(p.elapsedSec, 1e-3)).toLocaleString('en-US'),
        packets: p.flow.packets.toLocaleString('en-US'),
      };
      if (!started) {
        bar.start(total, p.source.inputBytesRead, payload);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(p.source.inputBytesRead, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
