/**
 * Http1Sniffer on the well-formed HTTP/1.x corpus captures (keep-alive, pipelining, chunked, request
 * bodies, IPv6/VLAN/SLL2 link layers): tshark's reassembled streams fed whole, byte by byte and split
 * at every offset must give identical records, and every request, status, Content-Length and
 * (de-chunked) body length tshark reports must be in them. Malformed and truncated captures are in
 * sniff-http1-malformed.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { Http1Sniffer } from '../../src/sniff/http1/http1-sniffer.ts';
import { MAX_BODY_SIZE_CAP, type SniffConfig } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  NO_HAND_OVER,
  outcome,
  recordingContext,
  type FeedMode,
  type RecordingContext,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followTcpStream,
  serverPortOf,
  type FollowChunk,
  type FollowedStream,
} from '../helpers/tshark-follow.ts';

/** tshark's view of one message (expected/*.http.jsonl). */
interface TsharkMessage {
  version: string;
  status: number;
  upgrade: string | null;
  content_length: number | null;
  transfer_encoding: string | null;
  body_len: number;
}

interface TsharkRow extends TsharkMessage {
  stream: number;
  method: string;
  host: string | null;
  uri: string;
  response: TsharkMessage | null;
  orphan_response?: TsharkMessage;
}

const FULL_CAPTURE: Partial<SniffConfig> = { httpBody: true, httpMaxBodySize: MAX_BODY_SIZE_CAP };

function sniff(
  chunks: FollowChunk[],
  mode: FeedMode,
  config: Partial<SniffConfig> = FULL_CAPTURE,
  serverPort = 80,
): RecordingContext {
  const ctx = recordingContext(config, { serverPort });
  feedStream(new Http1Sniffer(ctx, NO_HAND_OVER), chunks, mode);
  return ctx;
}

/** Whole, byte by byte and split at every offset (up to `limit`) give the same records. */
function assertSplitInvariant(stream: FollowedStream, limit?: number): void {
  const port = serverPortOf(stream);
  assertCutIndependent(
    stream.chunks,
    (mode) => outcome(sniff(stream.chunks, mode, FULL_CAPTURE, port)),
    limit,
  );
}

/** Go's `ContentLength` for a response tshark describes (what GOST records with capture off). */
function goResponseLength(method: string, t: TsharkMessage): number {
  const chunked = t.transfer_encoding === 'chunked';
  if (method === 'HEAD') return chunked ? -1 : (t.content_length ?? -1);
  if ((t.status >= 100 && t.status < 200) || t.status === 204 || t.status === 304) return 0;
  return chunked ? -1 : (t.content_length ?? -1);
}

function assertResponse(unit: RecordUnit, t: TsharkMessage, what: string): void {
  const http = unit.http!;
  assert.equal(http.statusCode, t.status, `${what} status`);
  assert.equal(http.response.contentLength, t.body_len, `${what} response body length`);
  assert.equal(http.response.body?.length ?? 0, t.body_len, `${what} response body`);
  const header = http.response.header!;
  assert.equal(
    header.get('Content-Length')?.[0],
    t.content_length?.toString(),
    `${what} Content-Length`,
  );
  assert.equal(header.get('Upgrade')?.[0], t.upgrade ?? undefined, `${what} Upgrade`);
  // GOST removes Transfer-Encoding from recorded headers.
  assert.equal(header.has('Transfer-Encoding'), false);
}

/** Records of one stream (body capture on) against tshark's rows for it, field by field. */
function assertMatchesTshark(units: RecordUnit[], rows: TsharkRow[], serverPort: number): void {
  const requests = rows.filter((r) => r.orphan_response === undefined);
  const orphans = rows.filter((r) => r.orphan_response !== undefined);
  const ours = units.filter((u) => u.http!.request.header !== null);
  const ourOrphans = units.filter((u) => u.http!.request.header === null);
  assert.equal(ours.length, requests.length, 'requests');
  assert.equal(ourOrphans.length, orphans.length, 'orphan responses');
  requests.forEach((t, i) => {
    const unit = ours[i]!;
    const http = unit.http!;
    const what = `request ${i} (${t.method} ${t.uri})`;
    assert.equal(unit.proto, 'http');
    assert.equal(unit.scope, 'unit');
    assert.equal(http.method, t.method, what);
    assert.equal(http.uri, t.uri, what);
    assert.equal(http.proto, t.version, `${what} version`);
    assert.equal(http.host, t.host ?? '', `${what} host`);
    assert.equal(
      unit.host,
      t.host === null ? '' : `${t.host}${t.host.includes(':') ? '' : `:${serverPort}`}`,
    );
    assert.equal(http.request.contentLength, t.body_len, `${what} request body length`);
    assert.equal(http.request.body?.length ?? 0, t.body_len, `${what} request body`);
    assert.equal(
      http.request.header!.get('Upgrade')?.[0],
      t.upgrade ?? undefined,
      `${what} Upgrade`,
    );
    assert.equal(http.request.header!.has('Host'), false, 'Host is moved out of the header map');
    if (t.response === null) {
      assert.equal(http.statusCode, 0, `${what} has no response`);
      assert.equal(http.response.header, null);
    } else {
      assertResponse(unit, t.response, what);
    }
  });
  orphans.forEach((t, i) => {
    const http = ourOrphans[i]!.http!;
    assert.equal(http.method, '');
    assertResponse(ourOrphans[i]!, t.orphan_response!, `orphan ${i}`);
  });
}

/** Records with body capture off carry Go's Content-Length values instead of byte counts. */
function assertGoContentLengths(units: RecordUnit[], rows: TsharkRow[]): void {
  const requests = rows.filter((r) => r.orphan_response === undefined && r.response !== null);
  const ours = units.filter((u) => u.http!.request.header !== null && u.http!.statusCode !== 0);
  assert.equal(ours.length, requests.length);
  requests.forEach((t, i) => {
    const http = ours[i]!.http!;
    const requestLength = t.transfer_encoding === 'chunked' ? -1 : (t.content_length ?? 0);
    assert.equal(http.request.contentLength, requestLength, `request ${i}`);
    assert.equal(
      http.response.contentLength,
      goResponseLength(t.method, t.response!),
      `response ${i}`,
    );
    assert.equal(http.request.body, null);
    assert.equal(http.response.body, null);
  });
}

function rowsOf(capture: string, stream: number): TsharkRow[] {
  return (corpusExpected(capture, 'http') as unknown as TsharkRow[]).filter(
    (r) => r.stream === stream,
  );
}

function bytesOf(chunks: FollowChunk[], side: 0 | 1): number {
  return chunks.filter((c) => c.side === side).reduce((n, c) => n + c.data.length, 0);
}

/** Well-formed captures: tshark agrees, every byte belongs to a record. */
const CLEAN = [
  'zk-http-pipelined.pcap',
  'nd-http-keepalive-37req.pcapng',
  'ps-http-chunked-gzip.pcap',
  'zk-http-get-gzip.pcap',
  'ar-http-post-upload.pcap',
  'ps-v6-http.cap',
  'zk-http-vlan.pcap',
  // One request, no response in the capture: recorded at the end with statusCode 0.
  'sv-sll2-http.pcap',
];

describe('HTTP/1 corpus captures', () => {
  for (const capture of CLEAN) {
    test(capture, () => {
      const stream = followTcpStream(corpusCapture(capture), 0);
      const port = serverPortOf(stream);
      const on = sniff(stream.chunks, { kind: 'whole' }, FULL_CAPTURE, port);
      assert.deepStrictEqual(on.errors, []);
      assertMatchesTshark(on.units, rowsOf(capture, stream.index), port);
      // Head + body of every message on the wire, nothing counted twice.
      assert.equal(sum(on.units, 'inputBytes'), bytesOf(stream.chunks, 0));
      assert.equal(sum(on.units, 'outputBytes'), bytesOf(stream.chunks, 1));
      assert.ok(on.units.every((u) => u.err === '' && u.clientIP === ''));
      const off = sniff(stream.chunks, { kind: 'whole' }, {}, port);
      assertGoContentLengths(off.units, rowsOf(capture, stream.index));
      assertSplitInvariant(stream);
    });
  }
});

function sum(units: RecordUnit[], key: 'inputBytes' | 'outputBytes'): number {
  return units.reduce((n, u) => n + u[key], 0);
}
