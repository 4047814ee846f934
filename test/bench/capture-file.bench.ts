/**
 * Offline capture benchmark (not a test): tapgate against tcpdump on the 1.2 GB synthetic capture
 * from ../shared/bench/gen_pcap.py, in one run, same machine, same page cache.
 *
 *   npm run bench:capture            # generates test/bench/.work/synth.pcap on first use (~1 min)
 *   BENCH_RUNS=5 npm run bench:capture
 *
 * Every command runs BENCH_RUNS times (default 3) after one warm-up read of the input; the median
 * wall time is reported with its user+system CPU and peak RSS (GNU time). tapgate runs the compiled
 * CLI (`npm run build` first) with gotm's cutoff: 8 KiB / 100 packets per direction.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { prepareBenchInput, root, synth, work } from './bench-input.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
/** gotm's figure for the same cutoff job on this machine kind (issue "Capture core"). */
const GOTM_MPPS = 0.84;

const { packets } = prepareBenchInput();

interface Measure {
  wallSec: number;
  cpuSec: number;
  rssMb: number;
}

function measure(cmd: string[], cleanup: () => void): Measure {
  const samples: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    cleanup();
    const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...cmd], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed: ${r.stderr}`);
    const last = r.stderr.trim().split('\n').pop()!.split(' ').map(Number);
    samples.push({ wallSec: last[0]!, cpuSec: last[1]! + last[2]!, rssMb: last[3]! / 1024 });
  }
  samples.sort((a, b) => a.wallSec - b.wallSec);
  return samples[Math.floor(samples.length / 2)]!;
}

const out = join(work, 'out');
const clean = (): void => {
  rmSync(out, { recursive: true, force: true });
};

const tapgate = (extra: string[]): string[] => [
  process.execPath,
  join(root, 'dist/cli.js'),
  'capture',
  '-r',
  synth,
  '-w',
  out,
  '-q',
  '--cutoff-bytes',
  '8k',
  '--cutoff-packets',
  '100',
  '--cutoff-direction',
  ...extra,
];
const rows: [string, Measure][] = [
  [
    'tcpdump -r synth.pcap -w /dev/null',
    measure(['tcpdump', '-r', synth, '-w', '/dev/null'], clean),
  ],
  [
    'tcpdump -r synth.pcap -w out.pcap',
    measure(['tcpdump', '-r', synth, '-w', join(work, 'td.pcap')], clean),
  ],
  ['tapgate capture (cutoff 8k/100 per dir)', measure(tapgate([]), clean)],
  ['tapgate capture --compress (gzip -1)', measure(tapgate(['--compress']), clean)],
];
rmSync(join(work, 'td.pcap'), { force: true });
clean();

const tcpdumpWrite = rows[1]![1];
console.log(
  `\ninput: ${synth} (${packets.toLocaleString('en-US')} packets), median of ${runs} runs\n`,
);
console.log('command'.padEnd(42) + 'wall s   Mpps   CPU s  CPU µs/pkt  peak RSS MB  vs tcpdump -w');
for (const [name, m] of rows) {
  const mpps = packets / m.wallSec / 1e6;
  console.log(
    name.padEnd(42) +
      m.wallSec.toFixed(2).padStart(6) +
      mpps.toFixed(2).padStart(7) +
      m.cpuSec.toFixed(2).padStart(8) +
      ((m.cpuSec / packets) * 1e6).toFixed(2).padStart(12) +
      m.rssMb.toFixed(0).padStart(13) +
      `${(tcpdumpWrite.wallSec / m.wallSec).toFixed(2)}×`.padStart(15),
  );
}
const plain = rows[2]![1];
const plainMpps = packets / plain.wallSec / 1e6;
console.log(
  `\ntapgate uncompressed: ${plainMpps.toFixed(2)} Mpps = ${(plainMpps / GOTM_MPPS).toFixed(2)}× gotm's ` +
    `${GOTM_MPPS} Mpps (target ≥ 1.7 Mpps, ≥ 2×), peak RSS ${plain.rssMb.toFixed(0)} MB (target < 200 MB)`,
);
