/**
 * Gateway tests with real clients and servers on loopback: the gateway in this process (records
 * collected as objects, checked as they arrive) or as the CLI (`tapgate gateway`, records read
 * back from the JSON-lines file after a SIGINT), upstream servers (HTTP, HTTPS with an openssl
 * certificate, TCP echo, a server that speaks first) and curl.
 *
 * Every wait is bounded; servers and gateways register their own cleanup with `after`.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { promisify } from 'node:util';
import { Gateway } from '../../src/gateway/gateway.ts';
import { parseGatewayConfig } from '../../src/gateway/gateway-config.ts';
import type { GostRecord } from '../../src/record/record-types.ts';
import { repoRoot } from './cli.ts';

export const run = promisify(execFile);

/**
 * Cleanups run after all tests of the file, newest first. (`after` called inside a hook or a test
 * would run when that hook or test ends, too early for servers made in `before`.)
 */
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

export function atEnd(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

/** A temporary directory removed after the file's tests. */
export async function tempDir(tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `tg-gw-${tag}-`));
  atEnd(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export function portOf(server: Server | HttpServer): number {
  return (server.address() as AddressInfo).port;
}

async function listening<T extends Server | HttpServer>(server: T, host = '127.0.0.1'): Promise<T> {
  server.listen(0, host);
  await once(server, 'listening');
  atEnd(() => {
    server.close();
    (server as { closeAllConnections?: () => void }).closeAllConnections?.();
  });
  return server;
}

/** HTTP/1.1 server: answers `<name> <METHOD> <url> <body>`. */
export function httpUpstream(name: string): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      res.end(`${name} ${req.method ?? ''} ${req.url ?? ''} ${Buffer.concat(parts).toString()}`);
    });
  });
  return listening(server);
}

export interface TlsFiles {
  cert: string;
  key: string;
}

/** A self-signed EC certificate for `names` (first is the CN), made by openssl. */
export async function selfSignedCert(dir: string, names: string[]): Promise<TlsFiles> {
  const cert = join(dir, `${names[0]!}.pem`);
  const key = join(dir, `${names[0]!}.key`);
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${names[0]!}`],
    ...['-addext', `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}`],
  ]);
  return { cert, key };
}

/** HTTPS server answering `<name> <url>`. */
export async function httpsUpstream(name: string, files: TlsFiles): Promise<HttpServer> {
  const server = createHttpsServer(
    { cert: await readFile(files.cert), key: await readFile(files.key) },
    (req, res) => res.end(`${name} ${req.url ?? ''}`),
  );
  return listening(server as unknown as HttpServer);
}

/** TCP echo server. */
export function echoUpstream(): Promise<Server> {
  return listening(createServer({ allowHalfOpen: true }, (s) => s.pipe(s)));
}

/** A server that speaks first (SMTP-like banner), then echoes lines back upper-cased. */
export function bannerUpstream(banner: string): Promise<Server> {
  return listening(
    createServer((s: Socket) => {
      s.on('error', () => undefined);
      s.write(banner);
      s.on('data', (d: Buffer) => s.write(d.toString().toUpperCase()));
    }),
  );
}

/** curl with a hard time limit; resolves with stdout, or rejects with stderr. */
export async function curl(args: string[], timeoutSec = 5): Promise<string> {
  const { stdout } = await run('curl', ['-sS', '--max-time', String(timeoutSec), ...args], {
    timeout: (timeoutSec + 5) * 1000,
  });
  return stdout;
}

/** Resolves when `check` returns a value, polling every 20 ms; rejects after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | null | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface InProcessGateway {
  gateway: Gateway;
  /** Records as they are written (objects, not yet encoded). */
  records: GostRecord[];
  port(service: string): number;
  stop(): Promise<void>;
}

/** Parses `yaml` (services with `addr: 127.0.0.1:0`) and starts the gateway in this process. */
export async function startGateway(yaml: string): Promise<InProcessGateway> {
  const records: GostRecord[] = [];
  const gateway = await Gateway.start(parseGatewayConfig(yaml, 'test.yaml'), {
    sink: { write: (r) => records.push(r) },
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await gateway.stop(0);
  };
  atEnd(stop);
  return {
    gateway,
    records,
    port: (name) => {
      const s = gateway.services.find((x) => x.name === name);
      if (!s) throw new Error(`no service ${name}`);
      return s.address.port;
    },
    stop,
  };
}

/** A record as read back from the JSON-lines file. */
export interface JsonRecord {
  service: string;
  labels?: Record<string, string>;
  remote: string;
  local: string;
  src: string;
  dst: string;
  host: string;
  proto?: string;
  clientIP: string;
  clientID?: string;
  node?: string;
  route?: string;
  err?: string;
  inputBytes: number;
  outputBytes: number;
  sid: string;
  duration: number;
  time: string;
  http?: {
    host: string;
    method: string;
    scheme: string;
    uri: string;
    statusCode: number;
    request: { contentLength: number; header: Record<string, string[]> | null };
    response: { header: Record<string, string[]> | null };
  };
  tls?: { serverName: string; version: string; proto: string; clientHello: string };
}

export interface CliGateway {
  pid: number;
  ports: Map<string, number>;
  /** SIGINT, wait for the exit, read the records file. */
  stop(): Promise<{ code: number | null; stderr: string; records: JsonRecord[] }>;
}

/**
 * Runs `tapgate gateway -c <yaml> --records <file>` (inside network namespace `ns` when given)
 * and waits until every service reports its address.
 */
export async function startGatewayCli(
  dir: string,
  yaml: string,
  opts: { ns?: string; services: number },
): Promise<CliGateway> {
  const config = join(dir, `gateway-${String(Date.now())}.yaml`);
  const recordsFile = `${config}.records.jsonl`;
  await writeFile(config, yaml);
  const node = [process.execPath, '--import', 'tsx', join(repoRoot, 'src/cli.ts')];
  const args = ['gateway', '-c', config, '--records', recordsFile, '--grace', '1s'];
  const cmd = opts.ns === undefined ? node : ['ip', 'netns', 'exec', opts.ns, ...node];
  const child = spawn(cmd[0]!, [...cmd.slice(1), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const ports = new Map<string, number>();
  const exited = once(child, 'exit');
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const m of stderr.matchAll(/service (\S+) \(\w+\) listening on \S+:(\d+)/g)) {
      ports.set(m[1]!, Number(m[2]));
    }
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  atEnd(() => {
    clearTimeout(killer);
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await Promise.race([
    waitFor('gateway to listen', () => ports.size >= opts.services, 20_000),
    exited.then(() => {
      throw new Error(`gateway exited:\n${stderr}`);
    }),
  ]);
  return {
    pid: child.pid ?? -1,
    ports,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      const [code] = (await Promise.race([
        exited,
        new Promise((_, reject) =>
          setTimeout(() => {
            reject(new Error(`no exit after SIGINT:\n${stderr}`));
          }, 15_000),
        ),
      ])) as [number | null];
      clearTimeout(killer);
      let text = '';
      try {
        text = await readFile(recordsFile, 'utf8');
      } catch {
        // no record written
      }
      const records = text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as JsonRecord);
      return { code, stderr, records };
    },
  };
}
