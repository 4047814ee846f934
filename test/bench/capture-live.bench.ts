/**
 * Live capture benchmark (not a test): tcpreplay --topspeed of the 1.2 GB synthetic capture into a
 * veth pair, captured on the other end by tcpdump and by tapgate, in one run on one machine.
 *
 *   npm run bench:live          # as root; generates test/bench/.work/synth.pcap on first use
 *   BENCH_RUNS=3 npm run bench:live
 *
 * For every consumer: start it on the outside end, wait until it captures, replay the whole file
 * into the inside end (in a namespace made here), wait a second, SIGINT, and read what it says it
 * captured and what the kernel dropped. CPU per packet is the consumer's user + system time
 * (all its threads, from /proc) from just before the replay to the end of the settling second,
 * divided by the packets it captured: start-up (Node, ring allocation) is left out, and reported
 * with the whole run's CPU (GNU time) beside it. tapgate runs the compiled CLI with gotm's cutoff
 * (8 KiB / 100 packets per direction) and gzip on.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

import { createVethPair, replay, type VethPair } from '../helpers/netns.ts';
import { prepareBenchInput, root, synth, work } from './bench-input.ts';

const runs = Number(process.env.BENCH_RUNS ?? 1);

if (process.getuid?.() !== 0) {
  console.error('bench:live needs root (network namespaces, raw sockets)');
  process.exit(2);
}
const { packets } = prepareBenchInput();

interface Result {
  sent: number;
  sentPps: number;
  captured: number;
  drops: number;
  /** CPU during the replay and the settling second. */
  cpuSec: number;
  /** CPU of the whole run, start-up and shutdown included. */
  totalCpuSec: number;
  rssMb: number;
}

interface Consumer {
  name: string;
  cmd: (iface: string, out: string) => string[];
  ready: RegExp;
  parse: (stdout: string, stderr: string) => { captured: number; drops: number };
}

const out = join(work, 'live-out');

async function runOnce(pair: VethPair, c: Consumer): Promise<Result> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const child = spawn('/usr/bin/time', ['-f', 'TIME %U %S %M', ...c.cmd(pair.outside, out)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => {
      reject(new Error(`${c.name} did not start: ${stderr}`));
    }, 30_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (c.ready.test(stderr)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
  const exited = new Promise<void>((resolve) => {
    child.on('close', () => {
      resolve();
    });
  });
  await ready;
  const consumerPid = Number(
    execFileSync('pgrep', ['-P', String(child.pid)], { encoding: 'utf8' }).trim(),
  );
  const cpuBefore = processCpuSec(consumerPid);
  const started = performance.now();
  const { sent } = await replay(pair, synth, { topspeed: true });
  const sendSec = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000));
  const cpuSec = processCpuSec(consumerPid) - cpuBefore;
  // GNU time does not forward signals: interrupt the consumer it runs.
  execFileSync('pkill', ['-INT', '-P', String(child.pid)]);
  await exited;
  const time = /TIME ([\d.]+) ([\d.]+) (\d+)/.exec(stderr);
  if (!time) throw new Error(`${c.name}: no CPU figures:\n${stderr}`);
  return {
    sent,
    sentPps: sent / sendSec,
    ...c.parse(stdout, stderr),
    cpuSec,
    totalCpuSec: Number(time[1]) + Number(time[2]),
    rssMb: Number(time[3]) / 1024,
  };
}

/** utime + stime of a process and all its threads, seconds (/proc/PID/stat fields 14 and 15). */
function processCpuSec(pid: number): number {
  const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS_PER_SEC;
}

const CLOCK_TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

const tapgate = (workers: number, extra: string[] = ['--compress']): Consumer => ({
  name: `tapgate ${workers} worker${workers > 1 ? 's' : ''}, cutoff 8k/100 ${extra.join(' ')}`.trim(),
  cmd: (iface, dir) => [
    process.execPath,
    join(root, 'dist/cli.js'),
    'capture',
    '-i',
    iface,
    '-w',
    dir,
    '--workers',
    String(workers),
    ...extra,
    '--cutoff-bytes',
    '8k',
    '--cutoff-packets',
    '100',
    '--cutoff-direction',
    '--json',
  ],
  ready: /capturing on/,
  parse: (stdout) => {
    const s = JSON.parse(stdout) as {
      flow: { packets: number };
      kernel: { drops: number } | null;
      libpcap: { framesDroppedBackpressure: number } | null;
    };
    return {
      captured: s.flow.packets,
      drops: (s.kernel?.drops ?? 0) + (s.libpcap?.framesDroppedBackpressure ?? 0),
    };
  },
});

const consumers: Consumer[] = [
  {
    name: 'tcpdump -B 65536 -w out.pcap',
    cmd: (iface, dir) => ['tcpdump', '-i', iface, '-B', '65536', '-w', join(dir, 'td.pcap')],
    ready: /listening on/,
    parse: (_stdout, stderr) => ({
      captured: Number(/(\d+) packets captured/.exec(stderr)?.[1] ?? NaN),
      drops: Number(/(\d+) packets dropped by kernel/.exec(stderr)?.[1] ?? NaN),
    }),
  },
  tapgate(1),
  tapgate(2),
  // Where the CPU goes: the same job without gzip, without any pcap output; and the libpcap engine.
  ...(process.env.BENCH_BREAKDOWN
    ? [tapgate(1, []), tapgate(1, ['--no-pcap']), tapgate(1, ['--compress', '--engine', 'pcap'])]
    : []),
];

const pair = await createVethPair({ mtu: 1500 });
const rows: [string, Result][] = [];
try {
  for (const c of consumers) {
    const results: Result[] = [];
    for (let i = 0; i < runs; i++) results.push(await runOnce(pair, c));
    results.sort((a, b) => a.cpuSec / a.captured - b.cpuSec / b.captured);
    rows.push([c.name, results[Math.floor(results.length / 2)]!]);
  }
} finally {
  await pair.destroy();
  rmSync(out, { recursive: true, force: true });
}

const n = (x: number): string => x.toLocaleString('en-US');
console.log(
  `\ninput: ${synth} (${n(packets)} packets), tcpreplay --topspeed into a veth pair, median of ${runs}\n`,
);
const header = [
  'consumer',
  'sent',
  'sender kpps',
  'captured',
  'drops',
  'lost',
  'CPU s',
  'µs/pkt',
  'run CPU s',
  'RSS MB',
];
const table = rows.map(([name, r]) => [
  name,
  n(r.sent),
  (r.sentPps / 1000).toFixed(0),
  n(r.captured),
  n(r.drops),
  n(r.sent - r.captured),
  r.cpuSec.toFixed(2),
  ((r.cpuSec * 1e6) / r.captured).toFixed(2),
  r.totalCpuSec.toFixed(2),
  r.rssMb.toFixed(0),
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
const line = (cells: string[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(line(header));
for (const row of table) console.log(line(row));
const td = rows[0]![1];
for (const [name, r] of rows.slice(1)) {
  const ratio = r.cpuSec / r.captured / (td.cpuSec / td.captured);
  console.log(`${name}: CPU per packet ${ratio.toFixed(2)}× tcpdump's, drops ${n(r.drops)}`);
}
