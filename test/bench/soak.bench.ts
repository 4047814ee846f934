/**
 * Soak benchmark (issue 7, not a test): tapgate captures live on a veth pair for SOAK_MINUTES
 * (default 10) while tcpreplay loops real protocol traffic into it at a steady rate, with records
 * and gzip pcaps on. Every SAMPLE_SEC the capture's RSS and open file descriptors are read from
 * /proc. At the end it prints the samples and checks what a sensor left alone for days must show:
 *
 * - RSS and file descriptors flat: after the warm-up fifth of the run, the RSS peak of the second
 *   half stays within RSS_SLACK of the first half's (the GC's sawtooth is not growth), and the
 *   descriptor count moves by at most FD_SLACK;
 * - zero kernel drops;
 * - records complete: every loop of the capture yields the records one file run of it yields;
 * - pcaps complete: every finished file valid (gzip -t), holding every packet captured.
 *
 *   npm run bench:soak                          # as root, 10 minutes
 *   SOAK_MINUTES=1 SOAK_PPS=8000 npm run bench:soak
 *
 * The traffic is assets/demo-protocols.pcap.gz (h2load, curl, dig, a WebSocket client against
 * nginx, dnsmasq and a ws server: 1,187 packets, 214 records per loop).
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createVethPair } from '../helpers/netns.ts';
import { root, work } from './bench-input.ts';

const run = promisify(execFile);
const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const pps = Number(process.env.SOAK_PPS ?? 5000);
const SAMPLE_SEC = Number(process.env.SOAK_SAMPLE_SEC ?? 10);
const RSS_SLACK = 0.1;
/**
 * Every WebSocket frame a record: tcpreplay's fixed rate squeezes the capture's 10.8 s into a
 * quarter of a second, and the default 10 frames/s sampling would (rightly) skip most frames.
 */
const SNIFF_FLAGS = ['--websocket-sample-rate', '-1'];
const FD_SLACK = 4;

if (process.getuid?.() !== 0) {
  console.error('bench:soak needs root (network namespaces, raw sockets)');
  process.exit(2);
}

const dir = join(work, 'soak');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const traffic = join(dir, 'protocols.pcap');
execFileSync('sh', [
  '-c',
  `gzip -dc "$0" > "$1"`,
  join(root, 'assets/demo-protocols.pcap.gz'),
  traffic,
]);
const cli = join(root, 'dist/cli.js');

/** Records and packets of one pass over the traffic, from a file run. */
function onePass(): { records: number; packets: number } {
  const recs = join(dir, 'one-pass.jsonl');
  const out = execFileSync(
    'node',
    [cli, 'capture', '-r', traffic, '--no-pcap', '--records', recs, ...SNIFF_FLAGS, '--json'],
    {
      encoding: 'utf8',
    },
  );
  const summary = JSON.parse(out) as { flow: { packets: number } };
  const records = readFileSync(recs, 'utf8').trim().split('\n').length;
  return { records, packets: summary.flow.packets };
}

interface Sample {
  sec: number;
  rssMb: number;
  fds: number;
}

function sample(pid: number, startMs: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const fds = readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      readlinkSync(`/proc/${pid}/fd/${fd}`);
      return true;
    } catch {
      return false; // closed while listing
    }
  }).length;
  return { sec: Math.round((Date.now() - startMs) / 1000), rssMb: rssKb / 1024, fds };
}

const pass = onePass();
const loops = Math.max(1, Math.round((minutes * 60 * pps) / pass.packets));
console.log(
  `soak: ${minutes} min, ${loops} loops of ${pass.packets} packets (${pass.records} records each) at ${pps} pps`,
);

const pair = await createVethPair({ mtu: 65535 }); // loopback-captured segments reach 64 KiB
try {
  const pcapDir = join(dir, 'pcap');
  const records = join(dir, 'records.jsonl');
  const child = spawn(
    'node',
    [
      cli,
      'capture',
      '-i',
      pair.outside,
      '-w',
      pcapDir,
      '--compress',
      '--records',
      records,
      ...SNIFF_FLAGS,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  while (!/capturing on/.test(stderr)) {
    if (child.exitCode !== null) throw new Error(`tapgate exited:\n${stderr}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = child.pid!;
  const start = Date.now();
  const samples: Sample[] = [sample(pid, start)];
  const timer = setInterval(() => samples.push(sample(pid, start)), SAMPLE_SEC * 1000);
  // Asynchronous: the samples are taken while tcpreplay runs.
  await run('ip', [
    'netns',
    'exec',
    pair.ns,
    'tcpreplay',
    '-q',
    '-i',
    pair.inside,
    `--pps=${pps}`,
    `--loop=${loops}`,
    traffic,
  ]);
  await new Promise((r) => setTimeout(r, 7000)); // closed TCP flows end after 5 s
  samples.push(sample(pid, start));
  clearInterval(timer);
  child.kill('SIGINT');
  if ((await exited) !== 0) throw new Error(`tapgate failed:\n${stderr}`);
  const summary = JSON.parse(stdout) as {
    kernel: { packets: number; drops: number };
    flow: { packets: number };
    output: { packetsWritten: number; packetsLost: number; filesClosed: number };
  };

  console.log('\n   sec   RSS MB   fds');
  for (const s of samples) {
    console.log(
      `${String(s.sec).padStart(6)} ${s.rssMb.toFixed(0).padStart(8)} ${String(s.fds).padStart(5)}`,
    );
  }
  const warm = samples.filter((s) => s.sec >= (minutes * 60) / 5);
  const half = Math.ceil(warm.length / 2);
  const firstPeak = Math.max(...warm.slice(0, half).map((s) => s.rssMb));
  const lastPeak = Math.max(...warm.slice(half).map((s) => s.rssMb));
  const rssDrift = (lastPeak - firstPeak) / firstPeak;
  const fds = warm.map((s) => s.fds);
  const fdDrift = Math.max(...fds) - Math.min(...fds);
  const recordCount = Number(
    execFileSync('sh', ['-c', 'wc -l < "$0"', records], { encoding: 'utf8' }),
  );
  const expectedRecords = loops * pass.records;
  const files = readdirSync(pcapDir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pcap.gz'))
    .map((f) => join(pcapDir, f));
  let stored = 0;
  for (const f of files) {
    execFileSync('gzip', ['-t', f]);
    stored += Number(
      execFileSync('sh', ['-c', 'gzip -dc "$0" | tcpdump -nn -r - 2>/dev/null | wc -l', f], {
        encoding: 'utf8',
      }),
    );
  }
  const diskMb = files.reduce((n, f) => n + statSync(f).size, 0) / 2 ** 20;

  const checks: [string, boolean, string][] = [
    ['kernel drops', summary.kernel.drops === 0, String(summary.kernel.drops)],
    [
      'packets captured',
      summary.flow.packets === loops * pass.packets,
      `${summary.flow.packets} of ${loops * pass.packets}`,
    ],
    ['records', recordCount === expectedRecords, `${recordCount} of ${expectedRecords}`],
    [
      'pcap packets on disk',
      stored === summary.output.packetsWritten - summary.output.packetsLost,
      `${stored} in ${files.length} files, ${diskMb.toFixed(1)} MB`,
    ],
    [
      'RSS peak, 2nd vs 1st half',
      rssDrift < RSS_SLACK,
      `${firstPeak.toFixed(0)} → ${lastPeak.toFixed(0)} MB (${(rssDrift * 100).toFixed(1)}%)`,
    ],
    [
      'file descriptors after warm-up',
      fdDrift <= FD_SLACK,
      `${Math.min(...fds)}–${Math.max(...fds)}`,
    ],
  ];
  console.log('');
  for (const [what, ok, detail] of checks)
    console.log(`${ok ? 'ok  ' : 'FAIL'}  ${what.padEnd(32)} ${detail}`);
  if (checks.some(([, ok]) => !ok)) process.exitCode = 1;
} finally {
  await pair.destroy();
}
