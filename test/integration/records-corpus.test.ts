/**
 * Every capture of the shared corpus through the whole sniffing pipeline (file → flows →
 * reassembly → sniffers → GOST records), checked against what tshark saw in the same capture
 * (`../shared/corpus/expected/*.jsonl`): every HTTP exchange, HTTP/2 stream, TLS handshake,
 * WebSocket frame and DNS message tshark reports must be in our records with the same values.
 *
 * Where tshark is blind or wrong the difference is handled in the matcher with a comment. The
 * records of each capture are also kept as golden files (`test/fixtures/records/`, sids masked);
 * `UPDATE_GOLDENS=1` rewrites them after a reviewed change.
 */
process.env.TZ = 'UTC'; // record times are local: make the goldens independent of the machine

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCapture } from '../../src/capture/run-capture.ts';
import { resolveCaptureConfig } from '../../src/config/capture-config.ts';
import { CORPUS_DIR, corpusExpected } from '../helpers/tshark-follow.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-records-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

const GOLDEN_DIR = join(import.meta.dirname, '../fixtures/records');
const updateGoldens = process.env.UPDATE_GOLDENS === '1';

type Json = Record<string, unknown>;
interface Rec {
  proto?: string;
  host: string;
  http?: {
    host: string;
    method: string;
    proto: string;
    scheme: string;
    uri: string;
    statusCode: number;
    request: { contentLength: number; body: string | null };
    response: { contentLength: number; body: string | null };
  };
  websocket?: {
    from: string;
    fin: boolean;
    rsv1: boolean;
    rsv2: boolean;
    rsv3: boolean;
    opcode: number;
    masked: boolean;
    length: number;
  };
  tls?: {
    serverName: string;
    version: string;
    ja3: string;
    ja3Hash: string;
    ja3s: string;
    ja3sHash: string;
    alpnOffered?: string[];
  };
  dns?: {
    id: number;
    name: string;
    type: string;
    question: string;
    answer: string;
    rcode: string;
    /** Omitted when empty. */
    answers?: { name: string; type: string; ttl: number; data: string }[];
  };
  flow: { gaps: number };
}

async function recordsOf(capture: string): Promise<{ lines: string[]; records: Rec[] }> {
  const out = join(work, `${capture}.jsonl`);
  await runCapture(
    resolveCaptureConfig({
      input: join(CORPUS_DIR, 'captures', capture),
      outDir: null,
      recordsPath: out,
      sniff: { httpBody: true, httpMaxBodySize: 1024 * 1024, websocketSampleRate: -1 },
    }),
  );
  const lines = existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
  return { lines, records: lines.map((l) => JSON.parse(l) as Rec) };
}

/** Takes the first record matching `pred` out of `pool` (each record answers one expectation). */
function take(pool: Rec[], pred: (r: Rec) => boolean, what: string): Rec {
  const i = pool.findIndex(pred);
  assert.ok(i >= 0, `no record for ${what}`);
  return pool.splice(i, 1)[0]!;
}

const bodyLength = (b: string | null): number => (b === null ? 0 : Buffer.from(b, 'base64').length);

function checkHttp(capture: string, records: Rec[]): void {
  const pool = records.filter((r) => r.http && !r.websocket);
  // tshark decrypts TLS streams with the capture's key log; a passive sniffer cannot.
  const tlsStreams = new Set(expectedItems(capture, 'tls').map((t) => t.stream));
  for (const e of expectedItems(capture, 'http')) {
    if (tlsStreams.has(e.stream)) continue;
    const orphan = e.orphan_response as Json | undefined;
    if (orphan) {
      // tshark pairs nothing with it (its request line was malformed); we record the response,
      // alone or paired with what we could parse of the request (then that record answers a
      // request line above as well, so it is looked for among all records).
      assert.ok(
        records.some((r) => r.http?.statusCode === orphan.status),
        `orphan response ${JSON.stringify(orphan.status)}`,
      );
      continue;
    }
    const res = e.response as Json | null;
    const upgrade = typeof e.upgrade === 'string' ? e.upgrade.toLowerCase() : '';
    const what = `${String(e.method)} ${String(e.uri)} (frame ${String(e.frame)})`;
    if (res?.status === 101 && upgrade.includes('h2c')) {
      // The upgraded request is HTTP/2 stream 1 in our records (its response comes as HTTP/2).
      take(
        pool,
        (r) => r.http!.proto === 'HTTP/2.0' && r.http!.method === e.method && r.http!.uri === e.uri,
        what,
      );
      continue;
    }
    const r = take(
      pool,
      (r) =>
        r.http!.method === e.method &&
        r.http!.uri === e.uri &&
        r.http!.host === (e.host ?? '') &&
        r.http!.proto === e.version &&
        // tshark stops parsing a stream at a hole (out-of-order reassembly off); we absorb holes
        // in bodies and keep pairing, so where tshark lost the response we may have it.
        (r.http!.statusCode === (res ? res.status : 0) || (res === null && r.flow.gaps > 0)),
      `${what} with status ${JSON.stringify(res?.status ?? 0)}`,
    );
    if (r.flow.gaps > 0) continue; // lengths of a stream with holes are not comparable
    assert.equal(r.http!.request.contentLength, e.body_len ?? 0, `${what}: request body`);
    assert.equal(bodyLength(r.http!.request.body), e.body_len ?? 0, `${what}: request body bytes`);
    if (res && res.status !== 101) {
      assert.equal(r.http!.response.contentLength, res.body_len ?? 0, `${what}: response body`);
      assert.equal(bodyLength(r.http!.response.body), res.body_len ?? 0, `${what}: body bytes`);
    }
  }
}

function checkHttp2(capture: string, records: Rec[]): void {
  const pool = records.filter((r) => r.http?.proto === 'HTTP/2.0');
  const tlsStreams = new Set(expectedItems(capture, 'tls').map((t) => t.stream));
  for (const e of expectedItems(capture, 'http2')) {
    if (tlsStreams.has(e.stream)) continue; // decrypted by tshark with the key log
    const what = `h2 stream ${String(e.h2_stream)} ${String(e.method)} ${String(e.path)}`;
    if (e.oracle_incomplete) {
      // tshark could not decode this header block; we must have decoded it.
      const r = take(pool, (r) => r.http!.statusCode === e.status && r.http!.method !== '', what);
      assert.notEqual(r.http!.uri, '');
      continue;
    }
    const r = take(
      pool,
      (r) =>
        r.http!.method === e.method &&
        r.http!.uri === e.path &&
        r.http!.host === e.authority &&
        r.http!.statusCode === (e.status ?? 0),
      what,
    );
    if (e.header_source !== 'h2c-upgrade')
      assert.equal(r.http!.scheme, e.scheme, `${what}: scheme`);
    if (r.flow.gaps > 0) continue;
    if (e.header_source !== 'h2c-upgrade') {
      assert.equal(r.http!.request.contentLength, e.data_bytes_c2s, `${what}: request DATA`);
    }
    assert.equal(r.http!.response.contentLength, e.data_bytes_s2c, `${what}: response DATA`);
  }
}

const TLS_VERSION: Record<string, string> = {
  'SSL 3.0': 'sslv3',
  'TLS 1.0': 'tls1.0',
  'TLS 1.1': 'tls1.1',
  'TLS 1.2': 'tls1.2',
  'TLS 1.3': 'tls1.3',
};

function checkTls(capture: string, records: Rec[]): void {
  const pool = records.filter((r) => r.tls);
  for (const e of expectedItems(capture, 'tls')) {
    const what = `TLS ClientHello in frame ${String(e.ch_frame)}`;
    const r = take(pool, (r) => r.tls!.ja3Hash === e.ja3, what);
    assert.equal(r.tls!.ja3, e.ja3_full, `${what}: JA3 string`);
    assert.equal(r.tls!.serverName, e.sni ?? '', `${what}: SNI`);
    assert.deepEqual(r.tls!.alpnOffered ?? [], e.alpn_offered ?? [], `${what}: ALPN offered`);
    if (e.ja3s) {
      assert.equal(r.tls!.ja3sHash, e.ja3s, `${what}: JA3S`);
      assert.equal(r.tls!.ja3s, e.ja3s_full, `${what}: JA3S string`);
      const v = (e.negotiated_version as Json | null)?.name;
      assert.equal(r.tls!.version, TLS_VERSION[String(v)], `${what}: version`);
    }
  }
}

function checkWebSocket(capture: string, records: Rec[]): void {
  const pool = records.filter((r) => r.websocket);
  const items = expectedItems(capture, 'websocket');
  assert.equal(pool.length, items.length, 'one record per WebSocket frame (sampling off)');
  for (const e of items) {
    const what = `WebSocket frame ${String(e.frame)}`;
    const rsv = Number(e.rsv);
    take(
      pool,
      (r) => {
        const w = r.websocket!;
        return (
          w.from === (e.dir === 'c2s' ? 'client' : 'server') &&
          w.fin === e.fin &&
          (w.rsv1 ? 4 : 0) + (w.rsv2 ? 2 : 0) + (w.rsv3 ? 1 : 0) === rsv &&
          w.opcode === e.opcode &&
          w.masked === e.masked &&
          w.length === e.payload_len
        );
      },
      what,
    );
  }
}

const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

function checkDns(capture: string, records: Rec[]): void {
  const queries = records.filter((r) => r.dns);
  const responses = [...queries];
  for (const e of expectedItems(capture, 'dns')) {
    const q = (e.queries as Json[])[0];
    const name = q ? `${String(q.name)}.`.replace(/^\.$/, '.') : '';
    const what = `DNS ${e.qr === 0 ? 'query' : 'response'} id ${String(e.id)} ${name} (frame ${String(e.frame)})`;
    // tshark shows what it could of a malformed message (`<Name too long>`); we count it as a
    // parse error and record nothing for it.
    if (name.includes('<')) continue;
    if (e.qr === 0) {
      take(queries, (r) => r.dns!.id === e.id && r.dns!.question !== '', what);
      continue;
    }
    const r = take(responses, (r) => r.dns!.id === e.id && r.dns!.answer !== '', what);
    assert.equal(r.dns!.rcode, RCODES[Number(e.rcode)] ?? String(e.rcode), `${what}: rcode`);
    const answers = e.answers as Json[];
    const gotAnswers = r.dns!.answers ?? [];
    assert.equal(gotAnswers.length, answers.length, `${what}: answers`);
    answers.forEach((a, i) => {
      const got = gotAnswers[i]!;
      assert.equal(got.name, `${String(a.name)}.`, `${what}: answer ${i} name`);
      assert.equal(got.type, a.type_name, `${what}: answer ${i} type`);
      assert.equal(got.ttl, a.ttl, `${what}: answer ${i} ttl`);
      if (['A', 'AAAA'].includes(String(a.type_name))) {
        assert.equal(got.data, a.value, `${what}: answer ${i} data`);
      }
      if (['CNAME', 'NS', 'PTR'].includes(String(a.type_name))) {
        assert.equal(got.data, `${String(a.value)}.`, `${what}: answer ${i} data`);
      }
    });
  }
}

function expectedItems(capture: string, proto: string): Json[] {
  const stem = capture.replace(/\.(pcapng|pcap|cap)$/, '');
  return existsSync(join(CORPUS_DIR, 'expected', `${stem}.${proto}.jsonl`))
    ? corpusExpected(capture, proto)
    : [];
}

/** The goldens: sids differ per run, everything else is a function of the capture. */
function checkGolden(capture: string, lines: string[]): void {
  const masked = lines.map((l) => l.replace(/"sid":"[0-9a-v]{20}"/, '"sid":"-"')).join('\n') + '\n';
  const file = join(GOLDEN_DIR, `${capture}.jsonl`);
  if (updateGoldens) {
    writeFileSync(file, masked);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing (UPDATE_GOLDENS=1 writes it)`);
  assert.equal(masked, readFileSync(file, 'utf8'), `${file} differs (UPDATE_GOLDENS=1 to accept)`);
}

const captures = readdirSync(join(CORPUS_DIR, 'captures')).filter((f) => !f.endsWith('.keys'));

for (const capture of captures) {
  test(`records of ${capture} match tshark`, async () => {
    const { lines, records } = await recordsOf(capture);
    for (const line of lines) JSON.parse(line); // every line is one JSON object
    checkHttp(capture, records);
    checkHttp2(capture, records);
    checkTls(capture, records);
    checkWebSocket(capture, records);
    checkDns(capture, records);
    checkGolden(capture, lines);
  });
}
