/**
 * The input of the protocol-sniffer benchmark (issue 4): a capture of real clients talking to real
 * servers on loopback, made once and cached.
 *
 *   node --import tsx test/bench/sniff-traffic.ts     # build (or reuse) and describe the capture
 *   BENCH_REGEN=1 …                                   # rebuild it
 *
 * Everything runs on 127.0.0.1 on unusual ports (DNS aside: see sniffPorts.dns), started and stopped here (temp dirs, bounded runs,
 * every process killed in `finally`), while `tcpdump -i lo` writes the capture:
 *
 *   nginx     :28081 HTTP/1.1 keep-alive  ← h2load --h1 (100k exchanges), curl POST (200 conns)
 *             :28443 HTTPS, h2 / http1.1  ← h2load (5k h2 streams over 100 TLS conns), curl (100)
 *             :28082 h2c prior knowledge  ← h2load (20k streams)
 *   dnsmasq   :53 UDP + TCP               ← dig -f (3000 UDP queries, 300 over TCP)
 *   ws echo   :28090 (npm `ws`)           ← 4 `ws` clients, 10k messages text + binary, pings
 *
 * The generators run at the same time, so flows interleave as on a real link. What they report
 * (h2load's "succeeded", dig's answers, curl's status codes, the ws client's own count) is kept in
 * a JSON file beside the capture: it is what the sniffers should find.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readdirSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Bump when the traffic mix changes: the cached capture is then rebuilt. */
export const SNIFF_TRAFFIC_VERSION = 2;

export const sniffPorts = {
  /** nginx, HTTP/1.1 with keep-alive. */
  http1: 28081,
  /** nginx, HTTP/2 without TLS (prior knowledge). */
  h2c: 28082,
  /** nginx, TLS with ALPN h2 and http/1.1. */
  https: 28443,
  /**
   * dnsmasq, UDP and TCP. The standard port: tapgate tries DNS only on 53, 5353 and 5355 (DNS has
   * no magic bytes, and tapgate has no decode-as option), so on another port it writes no DNS
   * records at all. Nothing else listens on 127.0.0.1:53 here; binding it needs root, as tcpdump.
   */
  dns: 53,
  /** `ws` echo server. */
  ws: 28090,
} as const;

const HOST = '127.0.0.1';
/** Name the TLS clients ask for (SNI); resolved to 127.0.0.1 by the clients' own options. */
const TLS_NAME = 'www.bench.test';

const H1_EXCHANGES = 100_000;
const H1_CLIENTS = 32;
const H2C_STREAMS = 20_000;
const H2C_CLIENTS = 8;
const H2C_STREAMS_PER_CONN = 16;
const H2_TLS_STREAMS = 5_000;
const H2_TLS_CLIENTS = 100;
const H2_TLS_STREAMS_PER_CONN = 8;
const CURL_HTTP = 200;
const CURL_HTTPS = 100;
const CURL_PARALLEL = 8;
const DNS_UDP_QUERIES = 3_000;
const DNS_TCP_QUERIES = 300;
const WS_CONNECTIONS = 4;
const WS_MESSAGES_PER_CONN = 2_500;
const WS_WINDOW = 4;
const WS_PING_EVERY = 500;
const WS_TIMEOUT_MS = 120_000;

/** What the generators themselves reported. */
export interface GeneratedCounts {
  /** h2load --h1 against :http1. */
  h1Exchanges: number;
  /** curl POSTs over plain HTTP/1.1, one connection each. */
  curlHttp: number;
  /** h2load against :h2c. */
  h2cStreams: number;
  h2cConnections: number;
  /** h2load over TLS (h2): streams and connections (= TLS handshakes). */
  h2TlsStreams: number;
  h2TlsConnections: number;
  /** curl over TLS (half h2, half http/1.1 with TLS 1.2), one connection each. */
  curlHttps: number;
  /** Queries dig got an answer to, by transport. */
  dnsUdp: number;
  dnsTcp: number;
  /** Answers by rcode (NOERROR, NXDOMAIN, REFUSED, …), both transports. */
  dnsRcodes: Record<string, number>;
  wsConnections: number;
  /** Data messages sent by the clients; the server echoes each. */
  wsMessages: number;
  wsPings: number;
  /** WebSocket frames on the wire: messages and echoes, pings and pongs, two closes a connection. */
  wsFrames: number;
}

export interface SniffTraffic {
  version: number;
  pcap: string;
  ports: typeof sniffPorts;
  packets: number;
  bytes: number;
  /** From the first to the last packet timestamp. */
  durationSec: number;
  /** tcpdump's "packets dropped by kernel". */
  kernelDrops: number;
  generated: GeneratedCounts;
  /**
   * What the sniffers should produce, per kind: HTTP/1 exchanges (h2load, curl, ws upgrades),
   * cleartext HTTP/2 streams, TLS handshakes, DNS queries, WebSocket frames.
   */
  expected: { http1: number; http2: number; tls: number; dns: number; websocket: number };
}

export const sniffTrafficDir = join(tmpdir(), 'tapgate-bench');
export const sniffTrafficPcap = join(
  sniffTrafficDir,
  `sniff-traffic-v${SNIFF_TRAFFIC_VERSION}.pcap`,
);
const metaPath = `${sniffTrafficPcap}.json`;

/** Tool → Debian package, checked before anything starts. */
const TOOLS: readonly (readonly [string, string])[] = [
  ['tcpdump', 'tcpdump'],
  ['nginx', 'nginx-light'],
  ['h2load', 'nghttp2-client'],
  ['curl', 'curl'],
  ['dig', 'dnsutils'],
  ['dnsmasq', 'dnsmasq-base'],
  ['openssl', 'openssl'],
];

/** Absolute path of `name` on PATH or in the sbin directories; null when absent. */
export function findTool(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Paths of the tools; throws naming every missing tool and its Debian package. */
export function requireTools(tools: readonly (readonly [string, string])[]): Map<string, string> {
  const found = new Map<string, string>();
  const missing: string[] = [];
  for (const [tool, pkg] of tools) {
    const p = findTool(tool);
    if (p) found.set(tool, p);
    else missing.push(`${tool} (Debian package ${pkg})`);
  }
  if (missing.length > 0) {
    throw new Error(`missing: ${missing.join(', ')}; apt-get install the packages named`);
  }
  return found;
}

/** Returns the cached capture, building it first when absent, stale or BENCH_REGEN=1. */
export async function prepareSniffTraffic(): Promise<SniffTraffic> {
  if (process.env.BENCH_REGEN !== '1' && existsSync(sniffTrafficPcap) && existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as SniffTraffic;
    if (meta.version === SNIFF_TRAFFIC_VERSION && statSync(sniffTrafficPcap).size > 0) return meta;
  }
  mkdirSync(sniffTrafficDir, { recursive: true });
  const meta = await buildSniffTraffic();
  writeFileSync(metaPath, JSON.stringify(meta, null, 2) + '\n');
  for (const f of readdirSync(sniffTrafficDir)) {
    const other = /^sniff-traffic-v(\d+)\.pcap/.exec(f);
    if (other && Number(other[1]) !== SNIFF_TRAFFIC_VERSION) rmSync(join(sniffTrafficDir, f));
  }
  return meta;
}

// ---------------------------------------------------------------------------------------------
// Processes

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Clients still running: killed in `finally` when a sibling generator fails. */
const running = new Set<ChildProcess>();

/** Runs a tool to completion; kills it and throws after `timeoutMs`. */
function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no exit after ${timeoutMs} ms, killed`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running process whose stderr is kept for readiness checks and error messages. */
interface Server {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startServer(name: string, cmd: string, args: readonly string[]): Server {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.on('error', (err) => {
      output += `\n${err.message}`;
      resolve(-1);
    });
    child.on('close', (code) => {
      resolve(code);
    });
  });
  return { name, child, output: () => output, exited };
}

/** Signals the server, then SIGKILLs it when it has not exited after `graceMs`. */
async function stopServer(s: Server, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000) {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill(signal);
  const done = await Promise.race([s.exited.then(() => true), sleep(graceMs).then(() => false)]);
  if (!done) {
    s.child.kill('SIGKILL');
    await s.exited;
  }
}

/** Resolves when `ready()` holds; throws when the server exits first or after `timeoutMs`. */
async function waitReady(s: Server, ready: () => boolean | Promise<boolean>, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (s.child.exitCode !== null || s.child.signalCode !== null) {
      throw new Error(`${s.name} exited at start-up:\n${s.output()}`);
    }
    if (await ready()) return;
    if (Date.now() > deadline)
      throw new Error(`${s.name} not ready after ${timeoutMs} ms:\n${s.output()}`);
    await sleep(50);
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: HOST, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => {
      resolve(false);
    });
  });
}

/** Runs `jobs` with at most `limit` at a time. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}

/** mulberry32: the same "random" mix on every build. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------
// Servers' files

/** Static site: small pages and one ~20 KB incompressible file. Returns the URL paths. */
function writeSite(www: string): string[] {
  mkdirSync(join(www, 'static'), { recursive: true });
  const rand = prng(7);
  const words = (n: number): string =>
    Array.from(
      { length: n },
      () => 'lorem ipsum dolor sit amet tap gate'.split(' ')[Math.floor(rand() * 7)],
    ).join(' ');
  writeFileSync(
    join(www, 'index.html'),
    `<!doctype html>\n<html><head><title>bench</title><link rel="stylesheet" href="/static/app.css">` +
      `</head><body><h1>tapgate bench</h1><p>${words(80)}</p></body></html>\n`,
  );
  writeFileSync(
    join(www, 'static/app.css'),
    `body { font: 14px sans-serif; }\n/* ${words(300)} */\n`,
  );
  writeFileSync(join(www, 'static/app.js'), `// ${words(150)}\nconsole.log('bench');\n`);
  writeFileSync(
    join(www, 'status.json'),
    JSON.stringify({
      ok: true,
      items: Array.from({ length: 10 }, (_, i) => ({ id: i, name: words(3) })),
    }) + '\n',
  );
  writeFileSync(
    join(www, 'favicon.svg'),
    `<svg xmlns="http://www.w3.org/2000/svg"><!-- ${words(40)} --></svg>\n`,
  );
  writeFileSync(join(www, 'robots.txt'), 'User-agent: *\nDisallow:\n');
  writeFileSync(join(www, 'static/photo.bin'), randomBytes(20 * 1024));
  // One large file in eight requests: h2load takes the URIs in turn.
  return [
    '/index.html',
    '/static/app.css',
    '/static/app.js',
    '/status.json',
    '/favicon.svg',
    '/robots.txt',
    '/index.html?utm_source=bench',
    '/static/photo.bin',
  ];
}

function nginxConf(prefix: string, www: string, cert: string, key: string): string {
  const p = sniffPorts;
  const api = `location /api/ { default_type application/json; return 200 '{"ok":true}\\n'; }`;
  return `worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  types {
    text/html html; text/css css; application/javascript js; application/json json;
    image/svg+xml svg; text/plain txt; application/octet-stream bin;
  }
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 30s;
  keepalive_requests 10000;
  client_max_body_size 4m;
  root ${www};
  server {
    listen ${HOST}:${p.http1};
    server_name bench.test;
    ${api}
  }
  server {
    listen ${HOST}:${p.https} ssl http2;
    server_name ${TLS_NAME};
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ${api}
  }
  server {
    listen ${HOST}:${p.h2c} http2;
    server_name bench.test;
    ${api}
  }
}
`;
}

/** dig batch lines: mostly A/AAAA, some TXT/MX, a few NXDOMAIN and REFUSED. */
function dnsNames(n: number, seed: number): string {
  const rand = prng(seed);
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    const host = `host${Math.floor(rand() * 500)}.bench.test`;
    if (r < 0.55) lines.push(`${host} A`);
    else if (r < 0.75) lines.push(`${host} AAAA`);
    else if (r < 0.82) lines.push(`bench.test TXT`);
    else if (r < 0.86) lines.push(`_dmarc.bench.test TXT`);
    else if (r < 0.9) lines.push(`bench.test MX`);
    else if (r < 0.95) lines.push(`missing${i}.nx.test A`);
    else lines.push(`www.example${Math.floor(rand() * 20)}.org A`);
  }
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------
// Generators

interface H2loadResult {
  succeeded: number;
  failed: number;
  clients: number;
  summary: string;
}

async function h2load(h2loadPath: string, args: readonly string[], clients: number) {
  const r = await run(h2loadPath, args, 300_000);
  const m = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed/.exec(
    r.stdout,
  );
  if (r.code !== 0 || !m || m[5] !== '0' || m[4] !== m[1]) {
    throw new Error(`h2load ${args.join(' ')} failed (${r.code}):\n${r.stdout}${r.stderr}`);
  }
  const finished = /finished in .*/.exec(r.stdout)?.[0] ?? '';
  const codes = /status codes: .*/.exec(r.stdout)?.[0] ?? '';
  return {
    succeeded: Number(m[4]),
    failed: Number(m[5]),
    clients,
    summary: `${finished}; ${codes}`,
  } satisfies H2loadResult;
}

async function digBatch(digPath: string, file: string, tcp: boolean) {
  const args = ['-p', String(sniffPorts.dns), `@${HOST}`, '-f', file, '+tries=1', '+time=1'];
  if (tcp) args.push('+tcp');
  const r = await run(digPath, args, 300_000);
  const rcodes: Record<string, number> = {};
  let answered = 0;
  for (const m of r.stdout.matchAll(/->>HEADER<<- opcode: \w+, status: (\w+)/g)) {
    answered++;
    rcodes[m[1]!] = (rcodes[m[1]!] ?? 0) + 1;
  }
  return { answered, rcodes };
}

async function curlRequests(
  curlPath: string,
  tmp: string,
): Promise<{ http: number; https: number }> {
  const rand = prng(11);
  const jobs: (() => Promise<boolean>)[] = [];
  const body = (i: number): string => {
    // 64 B … 64 KiB JSON, a few of 200 KiB (several segments, and curl's Expect: 100-continue).
    const size = i % 50 === 49 ? 200 * 1024 : Math.floor(64 * Math.pow(1024, rand()));
    const f = join(tmp, `body-${i}.json`);
    const filler = 'x'.repeat(Math.max(0, size - 40));
    writeFileSync(f, JSON.stringify({ id: i, kind: 'bench', data: filler }));
    return f;
  };
  const one = (args: string[]) => async (): Promise<boolean> => {
    const r = await run(
      curlPath,
      ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '10', ...args],
      20_000,
    );
    return r.code === 0 && r.stdout === '200';
  };
  for (let i = 0; i < CURL_HTTP; i++) {
    const headers = ['-H', 'Content-Type: application/json', '-H', `X-Request-Id: bench-${i}`];
    if (i % 10 === 3) headers.push('-H', 'Transfer-Encoding: chunked');
    const url = `http://${HOST}:${sniffPorts.http1}/api/submit?i=${i}`;
    jobs.push(one([...headers, '--data-binary', `@${body(i)}`, url]));
  }
  const firstHttps = jobs.length;
  for (let i = 0; i < CURL_HTTPS; i++) {
    const tls = i % 2 === 0 ? ['--http2'] : ['--http1.1', '--tlsv1.2', '--tls-max', '1.2'];
    const url = `https://${TLS_NAME}:${sniffPorts.https}/api/upload?i=${i}`;
    jobs.push(
      one([
        ...tls,
        '-k',
        '--resolve',
        `${TLS_NAME}:${sniffPorts.https}:${HOST}`,
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        `@${body(CURL_HTTP + i)}`,
        url,
      ]),
    );
  }
  const ok = await pool(jobs, CURL_PARALLEL);
  return {
    http: ok.slice(0, firstHttps).filter(Boolean).length,
    https: ok.slice(firstHttps).filter(Boolean).length,
  };
}

interface WsResult {
  connections: number;
  messages: number;
  echoes: number;
  pings: number;
  pongs: number;
  closes: number;
}

/** A `ws` echo server and WS_CONNECTIONS clients, in this process. */
async function websocketTraffic(): Promise<WsResult> {
  let ws: typeof import('ws');
  try {
    ws = await import('ws');
  } catch {
    throw new Error('the npm package `ws` is missing: npm install --save-dev ws @types/ws');
  }
  const server = new ws.WebSocketServer({
    host: HOST,
    port: sniffPorts.ws,
    perMessageDeflate: false,
  });
  server.on('connection', (sock) => {
    sock.on('message', (data, isBinary) => {
      sock.send(data as Buffer, { binary: isBinary });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const result: WsResult = {
    connections: 0,
    messages: 0,
    echoes: 0,
    pings: 0,
    pongs: 0,
    closes: 0,
  };
  const client = async (c: number): Promise<void> => {
    const rand = prng(100 + c);
    const sock = new ws.WebSocket(`ws://${HOST}:${sniffPorts.ws}/chat?room=bench&client=${c}`, {
      perMessageDeflate: false,
      headers: { 'User-Agent': 'tapgate-bench/1', Origin: `http://${HOST}` },
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('open', resolve);
      sock.once('error', reject);
    });
    result.connections++;
    sock.on('pong', () => result.pongs++);
    let sent = 0;
    let received = 0;
    const done = new Promise<void>((resolve, reject) => {
      const sendNext = (): void => {
        while (sent < WS_MESSAGES_PER_CONN && sent - received < WS_WINDOW) {
          const i = sent++;
          if (i % 2 === 0) {
            const text = JSON.stringify({
              seq: i,
              client: c,
              type: 'tick',
              note: 'x'.repeat(Math.floor(rand() * 400)),
            });
            sock.send(text);
          } else {
            // Mostly small frames; every 100th needs a 16-bit length, every 1000th a 64-bit one.
            const size =
              i % 1000 === 999 ? 70_000 : i % 100 === 99 ? 3_000 : 2 + Math.floor(rand() * 120);
            sock.send(randomBytes(size), { binary: true });
          }
          if (i % WS_PING_EVERY === WS_PING_EVERY - 1) {
            sock.ping(Buffer.from(`p${i}`));
            result.pings++;
          }
        }
      };
      sock.on('message', () => {
        received++;
        if (received === WS_MESSAGES_PER_CONN) resolve();
        else sendNext();
      });
      sock.once('error', reject);
      sendNext();
    });
    await done;
    result.messages += sent;
    result.echoes += received;
    await new Promise<void>((resolve) => {
      sock.once('close', () => {
        result.closes++;
        resolve();
      });
      sock.close(1000, 'bench done');
    });
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`ws: not done after ${WS_TIMEOUT_MS} ms`));
    }, WS_TIMEOUT_MS);
  });
  try {
    await Promise.race([
      Promise.all(Array.from({ length: WS_CONNECTIONS }, (_, c) => client(c))),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
    for (const s of server.clients) s.terminate();
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The capture

/** Packets, bytes (file size) and the time span of a classic pcap file (tcpdump -w). */
export function pcapStats(file: string): { packets: number; bytes: number; durationSec: number } {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    let len = readSync(fd, buf, 0, buf.length, 0);
    const magic = buf.readUInt32LE(0);
    const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
    if (!le && magic !== 0xd4c3b2a1 && magic !== 0x4d3cb2a1)
      throw new Error(`${file}: not a classic pcap`);
    const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
    const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
    let filePos = len;
    let off = 24;
    let packets = 0;
    let first = -1;
    let last = 0;
    for (;;) {
      if (len - off < 16) {
        buf.copy(buf, 0, off, len);
        len -= off;
        off = 0;
        const n = readSync(fd, buf, len, buf.length - len, filePos);
        filePos += n;
        len += n;
        if (len < 16) break;
      }
      const ts = u32(off) + u32(off + 4) / (nano ? 1e9 : 1e6);
      const incl = u32(off + 8);
      if (first < 0) first = ts;
      last = ts;
      packets++;
      const skip = 16 + incl;
      if (off + skip <= len) {
        off += skip;
      } else {
        // Skip the rest of this record in the file and refill from after it.
        filePos += off + skip - len;
        off = 0;
        len = 0;
      }
    }
    return { packets, bytes: statSync(file).size, durationSec: first < 0 ? 0 : last - first };
  } finally {
    closeSync(fd);
  }
}

async function buildSniffTraffic(): Promise<SniffTraffic> {
  const tools = requireTools(TOOLS);
  const tool = (name: string): string => tools.get(name)!;
  const tmp = mkdtempSync(join(tmpdir(), 'tapgate-sniff-traffic-'));
  chmodSync(tmp, 0o755); // nginx workers run as nobody when started by root
  const partial = `${sniffTrafficPcap}.partial`;
  const servers: Server[] = [];
  const root = process.getuid?.() === 0;
  console.log(`building ${sniffTrafficPcap} (work dir ${tmp}) …`);
  try {
    // Servers' files.
    const www = join(tmp, 'www');
    const paths = writeSite(www);
    const cert = join(tmp, 'cert.pem');
    const key = join(tmp, 'key.pem');
    const ssl = await run(
      tool('openssl'),
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '30',
        '-subj',
        `/CN=${TLS_NAME}`,
        '-addext',
        `subjectAltName=DNS:${TLS_NAME},DNS:bench.test,IP:${HOST}`,
      ],
      30_000,
    );
    if (ssl.code !== 0) throw new Error(`openssl req failed:\n${ssl.stderr}`);
    const conf = join(tmp, 'nginx.conf');
    writeFileSync(conf, nginxConf(tmp, www, cert, key));
    const namesUdp = join(tmp, 'names-udp.txt');
    const namesTcp = join(tmp, 'names-tcp.txt');
    writeFileSync(namesUdp, dnsNames(DNS_UDP_QUERIES, 1));
    writeFileSync(namesTcp, dnsNames(DNS_TCP_QUERIES, 2));

    const p = sniffPorts;
    for (const port of [p.http1, p.h2c, p.https, p.dns, p.ws]) {
      if (await tcpOpen(port))
        throw new Error(`${HOST}:${port} is in use: stop what listens there`);
    }
    // Capture first, so every connection is seen from its SYN.
    const filter = `src host ${HOST} and dst host ${HOST} and (port ${p.http1} or port ${p.h2c} or port ${p.https} or port ${p.dns} or port ${p.ws})`;
    const tcpdumpArgs = [
      '-i',
      'lo',
      '-s',
      '0',
      '-B',
      '65536',
      '-w',
      partial,
      ...(root ? ['-Z', 'root'] : []),
      filter,
    ];
    const tcpdump = startServer('tcpdump', tool('tcpdump'), tcpdumpArgs);
    servers.push(tcpdump);
    await waitReady(tcpdump, () => tcpdump.output().includes('listening on'));

    const nginx = startServer('nginx', tool('nginx'), ['-c', conf, '-p', tmp, '-g', 'daemon off;']);
    servers.push(nginx);
    const dnsmasq = startServer('dnsmasq', tool('dnsmasq'), [
      '--no-daemon',
      '--conf-file=/dev/null',
      `--port=${p.dns}`,
      `--listen-address=${HOST}`,
      '--bind-interfaces',
      '--no-resolv',
      '--no-hosts',
      '--pid-file=',
      '--local-ttl=300',
      '--log-facility=-',
      '--address=/bench.test/10.1.2.3',
      '--address=/bench.test/fd00:10:1:2::3',
      '--txt-record=bench.test,"v=spf1 ip4:10.1.2.3 -all"',
      '--txt-record=_dmarc.bench.test,"v=DMARC1; p=none; rua=mailto:dmarc@bench.test"',
      '--mx-host=bench.test,mail.bench.test,10',
      '--address=/nx.test/',
      ...(root ? ['--user=root'] : []),
    ]);
    servers.push(dnsmasq);
    await waitReady(
      nginx,
      async () => (await tcpOpen(p.http1)) && (await tcpOpen(p.https)) && (await tcpOpen(p.h2c)),
    );
    await waitReady(dnsmasq, () => tcpOpen(p.dns));
    // The readiness probes above are in the capture: only SYN/RST or a bare connection, which the
    // counts below ignore (no request on them).

    const started = Date.now();
    const url = (scheme: string, host: string, port: number): string[] =>
      paths.map((path) => `${scheme}://${host}:${port}${path}`);
    const [h1, h2c, h2tls, curl, dnsUdp, dnsTcp, wsr] = await Promise.all([
      h2load(
        tool('h2load'),
        [
          '--h1',
          '-n',
          String(H1_EXCHANGES),
          '-c',
          String(H1_CLIENTS),
          '-m',
          '1',
          ...url('http', HOST, p.http1),
        ],
        H1_CLIENTS,
      ),
      h2load(
        tool('h2load'),
        [
          '-n',
          String(H2C_STREAMS),
          '-c',
          String(H2C_CLIENTS),
          '-m',
          String(H2C_STREAMS_PER_CONN),
          ...url('http', HOST, p.h2c),
        ],
        H2C_CLIENTS,
      ),
      h2load(
        tool('h2load'),
        [
          '-n',
          String(H2_TLS_STREAMS),
          '-c',
          String(H2_TLS_CLIENTS),
          '-m',
          String(H2_TLS_STREAMS_PER_CONN),
          `--connect-to=${HOST}:${p.https}`,
          ...url('https', TLS_NAME, p.https),
        ],
        H2_TLS_CLIENTS,
      ),
      curlRequests(tool('curl'), tmp),
      digBatch(tool('dig'), namesUdp, false),
      digBatch(tool('dig'), namesTcp, true),
      websocketTraffic(),
    ]);
    const genSec = (Date.now() - started) / 1000;
    const short: string[] = [];
    if (curl.http < CURL_HTTP || curl.https < CURL_HTTPS) {
      short.push(
        `curl: ${curl.http}/${CURL_HTTP} HTTP and ${curl.https}/${CURL_HTTPS} TLS got 200`,
      );
    }
    if (dnsUdp.answered < DNS_UDP_QUERIES || dnsTcp.answered < DNS_TCP_QUERIES) {
      short.push(
        `dig: ${dnsUdp.answered}/${DNS_UDP_QUERIES} UDP, ${dnsTcp.answered}/${DNS_TCP_QUERIES} TCP`,
      );
    }
    if (wsr.echoes !== WS_CONNECTIONS * WS_MESSAGES_PER_CONN || wsr.pongs !== wsr.pings) {
      short.push(`ws: ${wsr.echoes} echoes, ${wsr.pongs}/${wsr.pings} pongs`);
    }
    // The counts below come from the generators, so a shortfall keeps the comparison honest; it
    // is still worth knowing about.
    for (const s of short) console.warn(`WARNING: ${s}`);
    await sleep(500); // last FINs and ACKs
    await stopServer(nginx, 'SIGQUIT');
    await stopServer(dnsmasq);
    await sleep(200);
    await stopServer(tcpdump, 'SIGINT', 10_000);
    const drops = Number(/(\d+) packets? dropped by kernel/.exec(tcpdump.output())?.[1] ?? NaN);
    if (tcpdump.child.exitCode !== 0 || Number.isNaN(drops)) {
      throw new Error(`tcpdump failed (${tcpdump.child.exitCode}):\n${tcpdump.output()}`);
    }

    const rcodes: Record<string, number> = { ...dnsUdp.rcodes };
    for (const [k, v] of Object.entries(dnsTcp.rcodes)) rcodes[k] = (rcodes[k] ?? 0) + v;
    const generated: GeneratedCounts = {
      h1Exchanges: h1.succeeded,
      curlHttp: curl.http,
      h2cStreams: h2c.succeeded,
      h2cConnections: h2c.clients,
      h2TlsStreams: h2tls.succeeded,
      h2TlsConnections: h2tls.clients,
      curlHttps: curl.https,
      dnsUdp: dnsUdp.answered,
      dnsTcp: dnsTcp.answered,
      dnsRcodes: rcodes,
      wsConnections: wsr.connections,
      wsMessages: wsr.messages,
      wsPings: wsr.pings,
      wsFrames: wsr.messages + wsr.echoes + wsr.pings + wsr.pongs + 2 * wsr.closes,
    };
    renameSync(partial, sniffTrafficPcap);
    const stats = pcapStats(sniffTrafficPcap);
    const meta: SniffTraffic = {
      version: SNIFF_TRAFFIC_VERSION,
      pcap: sniffTrafficPcap,
      ports: sniffPorts,
      ...stats,
      kernelDrops: drops,
      generated,
      expected: {
        http1: generated.h1Exchanges + generated.curlHttp + generated.wsConnections,
        http2: generated.h2cStreams,
        tls: generated.h2TlsConnections + generated.curlHttps,
        dns: generated.dnsUdp + generated.dnsTcp,
        websocket: generated.wsFrames,
      },
    };
    console.log(`generators ran ${genSec.toFixed(1)} s:`);
    console.log(
      `  h2load --h1 :${p.http1}  ${h1.succeeded} succeeded, ${h1.failed} failed (${h1.summary})`,
    );
    console.log(
      `  h2load h2c :${p.h2c}    ${h2c.succeeded} succeeded, ${h2c.failed} failed (${h2c.summary})`,
    );
    console.log(
      `  h2load TLS :${p.https}  ${h2tls.succeeded} succeeded, ${h2tls.failed} failed (${h2tls.summary})`,
    );
    console.log(
      `  curl POST  ${curl.http}/${CURL_HTTP} over HTTP, ${curl.https}/${CURL_HTTPS} over TLS with status 200`,
    );
    console.log(
      `  dig        ${dnsUdp.answered}/${DNS_UDP_QUERIES} UDP, ${dnsTcp.answered}/${DNS_TCP_QUERIES} TCP answered`,
    );
    console.log(
      `  ws         ${wsr.connections} connections, ${wsr.messages} messages, ${wsr.echoes} echoes, ` +
        `${wsr.pings} pings, ${wsr.pongs} pongs, ${wsr.closes} closes`,
    );
    if (drops > 0) console.warn(`WARNING: tcpdump reports ${drops} packets dropped by the kernel`);
    return meta;
  } finally {
    for (const c of running) c.kill('SIGKILL');
    for (const s of servers.reverse())
      await stopServer(s, s.name === 'tcpdump' ? 'SIGINT' : 'SIGTERM');
    rmSync(partial, { force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** One paragraph about the capture, for both scripts. */
export function describeSniffTraffic(t: SniffTraffic): string {
  const g = t.generated;
  const e = t.expected;
  const rcodes = Object.entries(g.dnsRcodes)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return (
    `${t.pcap}: ${t.packets.toLocaleString('en-US')} packets, ${(t.bytes / 1e6).toFixed(1)} MB, ` +
    `${t.durationSec.toFixed(1)} s of traffic, ${t.kernelDrops} kernel drops\n` +
    `  HTTP/1.1 exchanges  ${e.http1} (h2load ${g.h1Exchanges} + curl POST ${g.curlHttp} + ws upgrades ${g.wsConnections})\n` +
    `  HTTP/2 streams      ${e.http2} in clear (h2c, ${g.h2cConnections} conns); ${g.h2TlsStreams} more inside TLS\n` +
    `  TLS handshakes      ${e.tls} (h2load ${g.h2TlsConnections} conns + curl ${g.curlHttps})\n` +
    `  DNS queries         ${e.dns} (UDP ${g.dnsUdp}, TCP ${g.dnsTcp}; ${rcodes})\n` +
    `  WebSocket frames    ${e.websocket} (${g.wsConnections} conns, ${g.wsMessages} messages + echoes, ` +
    `${g.wsPings} pings + pongs, closes)`
  );
}

if (process.argv[1] === import.meta.filename) {
  const t = await prepareSniffTraffic();
  console.log(describeSniffTraffic(t));
}
