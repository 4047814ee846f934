/** Record sink backends against real files and servers: file rotation, http, tcp. */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createFileTarget, DEFAULT_FILE_ROTATION } from '../../src/record/sinks/file-target.ts';
import { createHttpTarget } from '../../src/record/sinks/http-target.ts';
import { SinkQueue } from '../../src/record/sinks/sink-queue.ts';
import { createTcpTarget } from '../../src/record/sinks/tcp-target.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-sinks-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

const rec = (i: number): Buffer => Buffer.from(`{"i":${String(i).padStart(4, '0')}}`); // 10 bytes
const lines = (n: number, from = 0): string[] =>
  Array.from({ length: n }, (_, i) => rec(from + i).toString());
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await sleep(5);
  }
}

test('file: sep after every record, rotation by size, gzip of backups, maxBackups', async () => {
  const dir = join(work, 'file', 'sub'); // created on open
  const path = join(dir, 'records.jsonl');
  const t = await createFileTarget('f', {
    path,
    sep: '\n',
    rotation: { ...DEFAULT_FILE_ROTATION, maxSizeBytes: 11 * 10, maxBackups: 3, compress: true },
  });
  for (let i = 0; i < 100; i += 5) {
    await t.deliver([0, 1, 2, 3, 4].map((k) => rec(i + k)));
  }
  await t.close();
  const names = readdirSync(dir).sort();
  const backups = names.filter((n) => n !== 'records.jsonl');
  assert.equal(backups.length, 3, names.join(' '));
  for (const b of backups) {
    assert.match(b, /^records-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.jsonl\.gz$/);
  }
  // Newest backups hold records 60..89 in order, the live file 90..99.
  const text = backups.map((b) => gunzipSync(readFileSync(join(dir, b))).toString()).join('');
  assert.equal(text, lines(30, 60).join('\n') + '\n');
  assert.equal(readFileSync(path, 'utf8'), lines(10, 90).join('\n') + '\n');

  // GOST without sep: records run together; no rotation when maxSize is 0.
  const p2 = join(work, 'file', 'nosep.json');
  const t2 = await createFileTarget('f2', {
    path: p2,
    sep: '',
    rotation: { ...DEFAULT_FILE_ROTATION, maxSizeBytes: 0 },
  });
  await t2.deliver([rec(1), rec(2)]);
  await t2.close();
  assert.equal(readFileSync(p2, 'utf8'), `${rec(1).toString()}${rec(2).toString()}`);
});

test('file: an unusable path fails at open', async () => {
  const notDir = join(work, 'plain-file');
  writeFileSync(notDir, 'x');
  await assert.rejects(
    createFileTarget('bad', {
      path: join(notDir, 'records.jsonl'),
      sep: '\n',
      rotation: DEFAULT_FILE_ROTATION,
    }),
    (e: Error) => /recorder bad: cannot open/.test(e.message),
  );
});

interface Seen {
  body: string;
  headers: http.IncomingHttpHeaders;
  socket: net.Socket;
}

async function httpServer(
  status: () => number,
): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const code = status();
      if (code < 400) {
        seen.push({
          body: Buffer.concat(chunks).toString(),
          headers: req.headers,
          socket: req.socket,
        });
      }
      res.statusCode = code;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `127.0.0.1:${port}/ingest`, // no scheme: http:// is added
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => {
        server.close(() => {
          r();
        });
      });
    },
  };
}

test('http: one POST per record, GOST headers, keep-alive, 500 retried', async () => {
  let calls = 0;
  const srv = await httpServer(() => (++calls === 3 ? 500 : 200));
  const target = createHttpTarget('h', {
    url: srv.url,
    timeoutMs: 2000,
    header: { 'X-Sensor': 'lab-a' },
    batch: false,
  });
  const q = new SinkQueue(target, { retryBaseMs: 5 });
  for (let i = 0; i < 6; i++) q.offer(rec(i));
  await until(() => q.stats.delivered === 6);
  await q.close(1000);
  assert.deepEqual(
    srv.seen.map((s) => s.body),
    lines(6),
  );
  assert.equal(q.stats.errors, 1);
  assert.equal(calls, 7); // the 500 was sent again, nothing twice
  for (const s of srv.seen) {
    assert.equal(s.headers['content-type'], 'application/json');
    assert.equal(s.headers['x-sensor'], 'lab-a');
  }
  assert.equal(new Set(srv.seen.map((s) => s.socket)).size, 1, 'one kept-alive connection');
  await srv.close();
});

test('http: batch posts NDJSON; a Content-Type in header wins', async () => {
  const srv = await httpServer(() => 200);
  const target = createHttpTarget('h', {
    url: `http://${srv.url}`,
    timeoutMs: 0,
    header: {},
    batch: true,
  });
  await target.deliver([rec(1), rec(2), rec(3)]);
  await target.close();
  assert.equal(srv.seen.length, 1);
  assert.equal(srv.seen[0]!.headers['content-type'], 'application/x-ndjson');
  assert.equal(srv.seen[0]!.body, [1, 2, 3].map((i) => rec(i).toString() + '\n').join(''));

  const t2 = createHttpTarget('h2', {
    url: srv.url,
    timeoutMs: 0,
    header: { 'content-type': 'text/plain' },
    batch: false,
  });
  await t2.deliver([rec(4)]);
  await t2.close();
  assert.equal(srv.seen[1]!.headers['content-type'], 'text/plain');
  await srv.close();
});

test('http: a server that does not answer times out', async () => {
  const conns: net.Socket[] = [];
  const server = net.createServer((so) => conns.push(so)); // accepts, never answers
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const t = createHttpTarget('slow', {
    url: `127.0.0.1:${port}`,
    timeoutMs: 100,
    header: {},
    batch: false,
  });
  await assert.rejects(t.deliver([rec(1)]), /no answer within 100 ms/);
  await t.close();
  for (const so of conns) so.destroy();
  await new Promise((r) => server.close(r));
});

interface TcpServer {
  port: number;
  data: () => string;
  connections: number;
  stop: () => Promise<void>;
}

async function tcpServer(port = 0, chunks: Buffer[] = []): Promise<TcpServer> {
  const sockets = new Set<net.Socket>();
  const s: TcpServer = {
    port: 0,
    data: () => Buffer.concat(chunks).toString(),
    connections: 0,
    stop: async () => {
      for (const so of sockets) so.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  const server = net.createServer((so) => {
    s.connections++;
    sockets.add(so);
    so.on('data', (c: Buffer) => chunks.push(c));
    so.on('close', () => sockets.delete(so));
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  s.port = (server.address() as net.AddressInfo).port;
  return s;
}

test('tcp: one connection, newline framing; restart: drops while down, then resumes', async () => {
  const chunks: Buffer[] = [];
  const srv = await tcpServer(0, chunks);
  const target = createTcpTarget('t', { addr: `127.0.0.1:${srv.port}`, timeoutMs: 1000 });
  const q = new SinkQueue(target, { retryBaseMs: 5, retryMaxMs: 20, maxRecords: 10 });
  for (let i = 0; i < 5; i++) q.offer(rec(i));
  await until(() => q.stats.delivered === 5);
  for (let i = 5; i < 10; i++) q.offer(rec(i));
  await until(() => q.stats.delivered === 10);
  await until(() => srv.data().length === 10 * 11);
  assert.equal(srv.data(), lines(10).join('\n') + '\n');
  assert.equal(srv.connections, 1);

  await srv.stop();
  await sleep(50); // the client sees the connection close
  for (let i = 10; i < 40; i++) q.offer(rec(i));
  await sleep(100);
  assert.equal(q.stats.delivered, 10);
  assert.equal(q.stats.dropped, 20, 'queue of 10 full while the server is down');
  assert.ok(q.stats.errors >= 1);

  const again = await tcpServer(srv.port, chunks);
  await until(() => q.stats.delivered === 20);
  await q.close(1000);
  await until(() => again.data().length === 20 * 11);
  assert.equal(again.data(), [...lines(10), ...lines(10, 10)].join('\n') + '\n');
  assert.equal(again.connections, 1);
  await again.stop();
});
