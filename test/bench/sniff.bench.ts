/**
 * Protocol-sniffer benchmark (issue 4, not a test): tapgate with its sniffers on, with them off, and
 * tshark extracting the same fields, on one realistic loopback capture (sniff-traffic.ts: h2load,
 * curl, dig and `ws` clients against nginx, dnsmasq and a `ws` server), in one run on one machine.
 *
 *   npm run bench:sniff                    # builds the capture on first use (~30 s, as root)
 *   BENCH_RUNS=5 npm run bench:sniff
 *   BENCH_REGEN=1 npm run bench:sniff      # rebuild the capture first
 *
 * Every command runs BENCH_RUNS times (default 3) after a warm page cache; the median wall time is
 * reported with its user+system CPU and peak RSS (GNU time). tapgate runs the compiled CLI
 * (rebuilt when src/ is newer than dist/) with every WebSocket frame a record
 * (`--websocket-sample-rate=-1`), so that its records can be counted against tshark's output.
 * tshark runs once more, untimed, to a file: its lines are counted per protocol and set beside
 * tapgate's records and what the generators reported.
 *
 * Targets (issue 4): sniffers on ≥ 20× tshark's throughput with the same records; sniffers on
 * cost ≤ 2× the sniff-free pipeline.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

import { root } from './bench-input.ts';
import {
  describeSniffTraffic,
  prepareSniffTraffic,
  requireTools,
  sniffTrafficDir,
  type SniffTraffic,
} from './sniff-traffic.ts';

const runs = Number(process.env.BENCH_RUNS ?? 3);
const TARGET_VS_TSHARK = 20;
const TARGET_SNIFF_COST = 2;

requireTools([['tshark', 'tshark']]);
if (!existsSync('/usr/bin/time')) throw new Error('missing: /usr/bin/time (Debian package time)');

const traffic = await prepareSniffTraffic();
const cap = traffic.pcap;
const packets = traffic.packets;
ensureBuild();
execFileSync('cat', [cap], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache

const work = join(sniffTrafficDir, 'sniff-bench-run');
const recordsOut = join(work, 'records.jsonl');
const fullRecordsOut = join(work, 'full-records.jsonl');
const pcapOut = join(work, 'pcap');
const tsharkOut = join(work, 'tshark.tsv');

/** Rebuilds dist/ when a file under src/ is newer than dist/cli.js. */
function ensureBuild(): void {
  const cli = join(root, 'dist/cli.js');
  const built = existsSync(cli) ? statSync(cli).mtimeMs : 0;
  const src = join(root, 'src');
  const stale = readdirSync(src, { recursive: true, encoding: 'utf8' }).some(
    (f) => f.endsWith('.ts') && statSync(join(src, f)).mtimeMs > built,
  );
  if (!stale) return;
  console.log('src/ is newer than dist/: npm run build …');
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    // tsc still emits on type errors; the run says whether the emitted code works.
    console.warn(`WARNING: npm run build failed (${r.status}):\n${r.stdout}${r.stderr}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Measure {
  wallSec: number;
  cpuSec: number;
  rssMb: number;
}

/** Median of `runs` runs, or the error text of the first failing run. */
function measure(cmd: string[], stdoutFile: string, cleanup: () => void): Measure | string {
  const samples: Measure[] = [];
  for (let i = 0; i < runs; i++) {
    cleanup();
    const out = openSync(stdoutFile, 'w');
    let r;
    try {
      r = spawnSync('/usr/bin/time', ['-f', 'TIME %e %U %S %M', ...cmd], {
        stdio: ['ignore', out, 'pipe'],
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
    } finally {
      closeSync(out);
    }
    const lines = r.stderr.trimEnd().split('\n');
    const time = lines.pop() ?? '';
    if (r.status !== 0 || !time.startsWith('TIME ')) {
      return `exit ${r.status ?? r.signal}: ${cmd.join(' ')}\n${lines.slice(-30).join('\n')}`;
    }
    const [wall, user, sys, rssKb] = time.slice(5).split(' ').map(Number);
    samples.push({ wallSec: wall!, cpuSec: user! + sys!, rssMb: rssKb! / 1024 });
  }
  samples.sort((a, b) => a.wallSec - b.wallSec);
  return samples[Math.floor(samples.length / 2)]!;
}

const clean = (): void => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
};

const tapgate = (...extra: string[]): string[] => [
  process.execPath,
  join(root, 'dist/cli.js'),
  'capture',
  '-r',
  cap,
  '-q',
  '--no-progress',
  ...extra,
];
const sniffFlags = ['--websocket-sample-rate=-1']; // with a space, parseArgs takes -1 for a flag

/** tshark's fields: the ones tapgate's records hold, as far as tshark has them. */
const TSHARK_FIELDS = [
  'frame.number',
  'ip.src',
  'ip.dst',
  'tcp.srcport',
  'tcp.dstport',
  'udp.srcport',
  'udp.dstport',
  'http.request.method',
  'http.request.uri',
  'http.request.version',
  'http.host',
  'http.response.code',
  'http.content_length',
  'http.request.line',
  'http.response.line',
  'http2.streamid',
  'http2.headers.method',
  'http2.headers.path',
  'http2.headers.authority',
  'http2.headers.status',
  'http2.header.name',
  'http2.header.value',
  'tls.handshake.type',
  'tls.handshake.extensions_server_name',
  'tls.handshake.ciphersuite',
  'tls.handshake.extensions_alpn_str',
  'tls.handshake.ja3',
  'tls.handshake.ja3s',
  'dns.id',
  'dns.flags.response',
  'dns.flags.rcode',
  'dns.qry.name',
  'dns.qry.type',
  'dns.a',
  'dns.aaaa',
  'dns.txt',
  'websocket.opcode',
  'websocket.fin',
  'websocket.mask',
  'websocket.payload_length',
  'websocket.payload_length_ext_16',
  'websocket.payload_length_ext_64',
] as const;

function tsharkCmd(t: SniffTraffic): string[] {
  const p = t.ports;
  return [
    'tshark',
    '-r',
    cap,
    '-n',
    '-d',
    `tcp.port==${p.http1},http`,
    '-d',
    `tcp.port==${p.ws},http`,
    '-d',
    `tcp.port==${p.h2c},http2`,
    '-d',
    `tcp.port==${p.https},tls`,
    '-d',
    `udp.port==${p.dns},dns`,
    '-d',
    `tcp.port==${p.dns},dns`,
    '-Y',
    'http || http2 || tls.handshake || dns || websocket',
    '-T',
    'fields',
    '-E',
    'separator=/t',
    '-E',
    `aggregator=${AGGREGATOR}`,
    ...TSHARK_FIELDS.flatMap((f) => ['-e', f]),
  ];
}

// ---------------------------------------------------------------------------------------------
// Counting

interface Counts {
  http1: number;
  http2: number;
  tls: number;
  dns: number;
  websocket: number;
}
const KINDS: readonly [keyof Counts, string][] = [
  ['http1', 'HTTP/1 exchanges'],
  ['http2', 'HTTP/2 streams'],
  ['tls', 'TLS handshakes'],
  ['dns', 'DNS queries'],
  ['websocket', 'WebSocket frames'],
];

/**
 * Key fields compared as multisets between tshark's lines and tapgate's records: the same counts
 * could still hide wrong values. Requests and responses apart, as tshark shows them in different
 * frames.
 */
const CHECKS = {
  h1Request: 'HTTP/1 method + uri',
  h1Status: 'HTTP/1 status',
  h2Request: 'HTTP/2 method + :path',
  h2Status: 'HTTP/2 :status',
  tlsClient: 'TLS SNI + JA3 hash',
  tlsServer: 'TLS JA3S hash',
  dnsQuery: 'DNS qname + qtype',
  dnsRcode: 'DNS rcode',
  wsFrame: 'WS opcode + length + mask',
} as const;
type Check = keyof typeof CHECKS;
type Tally = Map<string, number>;
type Tallies = Record<Check, Tally>;

function newTallies(): Tallies {
  const t = {} as Tallies;
  for (const k of Object.keys(CHECKS) as Check[]) t[k] = new Map();
  return t;
}
function bump(m: Tally, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

/** DNS mnemonics → numbers, as tshark prints qtypes with -T fields. */
const DNS_TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15 };
Object.assign(DNS_TYPES, { TXT: 16, AAAA: 28, SRV: 33, SVCB: 64, HTTPS: 65, ANY: 255 });
const DNS_RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];
/** HTTP statuses tapgate skips (1xx before the final one); 101 is final. */
const interim = (status: string): boolean => status.startsWith('1') && status !== '101';

/** Separates the occurrences of a field within one frame (several PDUs in one segment). */
const AGGREGATOR = '\x1f';

/** tshark lines per protocol: requests, request HEADERS, ClientHellos, queries, frames. */
async function countTshark(file: string): Promise<{ counts: Counts; tallies: Tallies }> {
  const col = (f: (typeof TSHARK_FIELDS)[number]): number => TSHARK_FIELDS.indexOf(f);
  const counts: Counts = { http1: 0, http2: 0, tls: 0, dns: 0, websocket: 0 };
  const t = newTallies();
  for await (const line of createInterface({ input: createReadStream(file) })) {
    const f = line.split('\t');
    const v = (name: (typeof TSHARK_FIELDS)[number]): string[] => {
      const s = f[col(name)];
      return s ? s.split(AGGREGATOR) : [];
    };
    const methods = v('http.request.method');
    const uris = v('http.request.uri');
    counts.http1 += methods.length;
    methods.forEach((m, i) => {
      bump(t.h1Request, `${m} ${uris[i]}`);
    });
    for (const s of v('http.response.code')) if (!interim(s)) bump(t.h1Status, s);
    const h2methods = v('http2.headers.method');
    const paths = v('http2.headers.path');
    counts.http2 += h2methods.length;
    h2methods.forEach((m, i) => {
      bump(t.h2Request, `${m} ${paths[i]}`);
    });
    for (const s of v('http2.headers.status')) if (!interim(s)) bump(t.h2Status, s);
    const types = v('tls.handshake.type');
    if (types.includes('1')) {
      counts.tls += types.filter((x) => x === '1').length;
      bump(
        t.tlsClient,
        `${v('tls.handshake.extensions_server_name')[0] ?? ''} ${v('tls.handshake.ja3')[0] ?? ''}`,
      );
    }
    for (const h of v('tls.handshake.ja3s')) bump(t.tlsServer, h);
    const names = v('dns.qry.name');
    const qtypes = v('dns.qry.type');
    v('dns.flags.response').forEach((r, i) => {
      if (r !== '0' && r !== 'False') return;
      counts.dns++;
      bump(t.dnsQuery, `${names[i]} ${qtypes[i]}`);
    });
    for (const r of v('dns.flags.rcode')) bump(t.dnsRcode, DNS_RCODES[Number(r)] ?? r);
    // payload_length is the 7-bit field; 126 and 127 point to the next 16- or 64-bit length.
    const lengths = v('websocket.payload_length');
    const ext16 = v('websocket.payload_length_ext_16');
    const ext64 = v('websocket.payload_length_ext_64');
    const masks = v('websocket.mask');
    v('websocket.opcode').forEach((o, i) => {
      counts.websocket++;
      const masked = masks[i] === '1' || masks[i] === 'True';
      let len = lengths[i];
      if (len === '126') len = ext16.shift();
      else if (len === '127') len = ext64.shift();
      bump(t.wsFrame, `${o} ${len} ${masked}`);
    });
  }
  return { counts, tallies: t };
}

interface RecordCounts extends Counts {
  total: number;
  tallies: Tallies;
  /** Records of none of the kinds above, by `proto` ('' = plain connection record). */
  other: Tally;
  /** Records carrying an `err`, by error text. */
  errors: Tally;
  /** Records whose flow had gaps. */
  withGaps: number;
}

interface RecordLine {
  proto?: string;
  err?: string;
  http?: { proto: string; method: string; uri: string; statusCode: number };
  websocket?: { opcode: number; length: number; masked: boolean };
  tls?: { serverName: string; ja3Hash?: string; ja3sHash?: string };
  dns?: { name: string; type: string; rcode?: string };
  flow?: { gaps: number };
}

async function countRecords(file: string): Promise<RecordCounts> {
  const c: RecordCounts = {
    http1: 0,
    http2: 0,
    tls: 0,
    dns: 0,
    websocket: 0,
    total: 0,
    tallies: newTallies(),
    other: new Map(),
    errors: new Map(),
    withGaps: 0,
  };
  const t = c.tallies;
  for await (const line of createInterface({ input: createReadStream(file) })) {
    if (line === '') continue;
    c.total++;
    const r = JSON.parse(line) as RecordLine;
    if (r.websocket) {
      c.websocket++;
      bump(t.wsFrame, `${r.websocket.opcode} ${r.websocket.length} ${r.websocket.masked}`);
    } else if (r.http) {
      const h2 = r.http.proto.startsWith('HTTP/2');
      if (h2) c.http2++;
      else c.http1++;
      bump(h2 ? t.h2Request : t.h1Request, `${r.http.method} ${r.http.uri}`);
      bump(h2 ? t.h2Status : t.h1Status, String(r.http.statusCode));
    } else if (r.tls) {
      c.tls++;
      bump(t.tlsClient, `${r.tls.serverName} ${r.tls.ja3Hash ?? ''}`);
      if (r.tls.ja3sHash) bump(t.tlsServer, r.tls.ja3sHash);
    } else if (r.dns) {
      c.dns++;
      const type = DNS_TYPES[r.dns.type] ?? r.dns.type.replace(/^TYPE/, '');
      bump(t.dnsQuery, `${r.dns.name.replace(/\.$/, '')} ${type}`);
      if (r.dns.rcode) bump(t.dnsRcode, r.dns.rcode);
    } else {
      bump(c.other, r.proto ?? '');
    }
    if (r.err) bump(c.errors, r.err.length > 100 ? r.err.slice(0, 100) + '…' : r.err);
    if ((r.flow?.gaps ?? 0) > 0) c.withGaps++;
  }
  return c;
}

/** Σ min over keys, and the keys each side has more of (with how many more). */
function compareTallies(a: Tally, b: Tally) {
  let agree = 0;
  const onlyA: [string, number][] = [];
  const onlyB: [string, number][] = [];
  for (const [k, n] of a) {
    const m = b.get(k) ?? 0;
    agree += Math.min(n, m);
    if (n > m) onlyA.push([k, n - m]);
  }
  for (const [k, m] of b) if (m > (a.get(k) ?? 0)) onlyB.push([k, m - (a.get(k) ?? 0)]);
  const sum = (l: [string, number][]): number => l.reduce((s, [, n]) => s + n, 0);
  return { agree, onlyA, onlyB, moreA: sum(onlyA), moreB: sum(onlyB) };
}

// ---------------------------------------------------------------------------------------------
// Runs

clean();
console.log(describeSniffTraffic(traffic));
if (loadavg()[0]! > availableParallelism() / 2) {
  console.warn(
    `WARNING: load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs: ` +
      'wall times will be noisy, compare CPU',
  );
}
console.log(`\ntshark counting run (untimed, also the warm-up) …`);
{
  const out = openSync(tsharkOut, 'w');
  const r = spawnSync(tsharkCmd(traffic)[0]!, tsharkCmd(traffic).slice(1), {
    stdio: ['ignore', out, 'pipe'],
    encoding: 'utf8',
  });
  closeSync(out);
  if (r.status !== 0) throw new Error(`tshark failed (${r.status}):\n${r.stderr}`);
}
const { counts: tsharkCounts, tallies: tsharkTallies } = await countTshark(tsharkOut);
rmSync(tsharkOut);

const keep = (): void => {
  rmSync(recordsOut, { force: true });
};
const rows: [string, Measure | string][] = [];
rows.push(['tapgate --no-pcap (sniffers off)', measure(tapgate('--no-pcap'), '/dev/null', clean)]);
rows.push([
  'tapgate --no-pcap --records (sniffers on)',
  measure(tapgate('--no-pcap', '--records', recordsOut, ...sniffFlags), '/dev/null', keep),
]);
const sniffOn = rows[1]![1];
const records = typeof sniffOn === 'string' ? null : await countRecords(recordsOut);
rmSync(recordsOut, { force: true });
const fullClean = (): void => {
  rmSync(pcapOut, { recursive: true, force: true });
  rmSync(fullRecordsOut, { force: true });
};
rows.push([
  'tapgate -w --compress --records (full job)',
  measure(
    tapgate('-w', pcapOut, '--compress', '--records', fullRecordsOut, ...sniffFlags),
    '/dev/null',
    fullClean,
  ),
]);
const fullRecords = existsSync(fullRecordsOut) ? await countRecords(fullRecordsOut) : null;
rows.push([
  'tshark -T fields (same fields)',
  measure(tsharkCmd(traffic), '/dev/null', () => undefined),
]);
rmSync(work, { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------
// Report

const [off, on, , tshark] = rows.map(([, m]) => (typeof m === 'string' ? null : m));
const [load1] = loadavg();
console.log(
  `\ninput: ${cap} (${packets.toLocaleString('en-US')} packets, ` +
    `${(traffic.bytes / 1e6).toFixed(0)} MB), median of ${runs} runs, ` +
    `load average ${load1!.toFixed(1)} on ${availableParallelism()} CPUs at the end\n`,
);
console.log('command'.padEnd(44) + 'wall s  kpkts/s   CPU s  CPU µs/pkt  peak RSS MB  vs tshark');
for (const [name, m] of rows) {
  if (typeof m === 'string') {
    console.log(name.padEnd(44) + 'FAILED');
    continue;
  }
  console.log(
    name.padEnd(44) +
      m.wallSec.toFixed(2).padStart(6) +
      (packets / m.wallSec / 1e3).toFixed(0).padStart(9) +
      m.cpuSec.toFixed(2).padStart(8) +
      ((m.cpuSec / packets) * 1e6).toFixed(2).padStart(12) +
      m.rssMb.toFixed(0).padStart(13) +
      (tshark ? `${(tshark.wallSec / m.wallSec).toFixed(1)}×`.padStart(11) : ''),
  );
}
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
if (on && tshark) {
  const x = tshark.wallSec / on.wallSec;
  console.log(
    `\nsniffers on vs tshark: ${x.toFixed(1)}× the throughput ` +
      `(${(tshark.cpuSec / on.cpuSec).toFixed(1)}× less CPU); ` +
      `target ≥ ${TARGET_VS_TSHARK}×: ${verdict(x >= TARGET_VS_TSHARK)}`,
  );
}
if (on && off) {
  const wall = on.wallSec / off.wallSec;
  const cpu = on.cpuSec / off.cpuSec;
  console.log(
    `sniffers on vs off:    ${wall.toFixed(2)}× the wall time, ${cpu.toFixed(2)}× the CPU; ` +
      `target ≤ ${TARGET_SNIFF_COST}×: ${verdict(Math.max(wall, cpu) <= TARGET_SNIFF_COST)}`,
  );
}

console.log(
  `\n${'records'.padEnd(20)}${'generators'.padStart(12)}${'tshark'.padStart(10)}${'tapgate'.padStart(10)}`,
);
for (const [kind, label] of KINDS) {
  const want = traffic.expected[kind];
  const ts = tsharkCounts[kind];
  const tg = records ? records[kind] : NaN;
  const mark = records && tg !== ts ? `   ≠ tshark (${tg - ts > 0 ? '+' : ''}${tg - ts})` : '';
  console.log(
    label.padEnd(20) +
      String(want).padStart(12) +
      String(ts).padStart(10) +
      String(tg).padStart(10) +
      mark,
  );
}
if (records) {
  const other = [...records.other].map(([k, v]) => `${k || "''"} ${v}`).join(', ');
  console.log(
    `tapgate: ${records.total} records` +
      (other ? `, others by proto: ${other}` : '') +
      `, ${records.withGaps} from flows with gaps`,
  );
  for (const [e, n] of [...records.errors].sort((a, b) => b[1] - a[1]).slice(0, 10)) {
    console.log(`  err ×${n}: ${e}`);
  }
  console.log(
    `\n${'fields (multisets)'.padEnd(28)}${'agree'.padStart(8)}  only tshark  only tapgate`,
  );
  for (const [check, label] of Object.entries(CHECKS) as [Check, string][]) {
    const d = compareTallies(tsharkTallies[check], records.tallies[check]);
    console.log(
      label.padEnd(28) +
        String(d.agree).padStart(8) +
        String(d.moreA).padStart(13) +
        String(d.moreB).padStart(14),
    );
    const examples = (side: string, l: [string, number][]): void => {
      for (const [k, n] of l.sort((x, y) => y[1] - x[1]).slice(0, 3)) {
        console.log(`    only ${side} ×${n}: ${JSON.stringify(k)}`);
      }
    };
    examples('tshark', d.onlyA);
    examples('tapgate', d.onlyB);
  }
  if (fullRecords && fullRecords.total !== records.total) {
    console.log(
      `full job wrote ${fullRecords.total} records, --no-pcap ${records.total}: they should agree`,
    );
  }
}
for (const [name, m] of rows) {
  if (typeof m === 'string') console.log(`\n${name} FAILED: ${m}`);
}
