/**
 * Http1Sniffer on the corpus captures with broken input: malformed request lines and odd methods
 * (zk-http-methods), heads cut by a snaplen (zk-snaplen96-http), a hole in a body
 * (sv-http10-gap). Holes are replayed as `gap()` where tshark's follow output marks them; each
 * fixture is fed whole, byte by byte and split at every offset.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { Http1Sniffer } from '../../src/sniff/http1/http1-sniffer.ts';
import { MAX_BODY_SIZE_CAP, Side, type Timestamp } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  NO_HAND_OVER,
  recordingContext,
  type FeedMode,
  type Outcome,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  firstStreams,
  followTcpStream,
  followTcpStreams,
  type FollowChunk,
} from '../helpers/tshark-follow.ts';

interface TsharkMessage {
  version: string;
  status: number;
  content_length: number | null;
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

type Step = FollowChunk | { side: 0 | 1; gap: number };

const BASE_SEC = 1_700_000_000;
function at(step: number): Timestamp {
  return { sec: BASE_SEC + step, nsec: 0 };
}

/**
 * Like the harness's feedStream, with gaps and time: now() is the step index, and each piece is a
 * copy scribbled over after delivery (so a view kept past the call shows up).
 */
function feedSteps(steps: Step[], mode: FeedMode): Outcome {
  const ctx = recordingContext({ httpBody: true, httpMaxBodySize: MAX_BODY_SIZE_CAP });
  const sniffer = new Http1Sniffer(ctx, NO_HAND_OVER);
  steps.forEach((step, i) => {
    ctx.setNow(at(i));
    if (!sniffer.wants(step.side)) return;
    if ('gap' in step) {
      sniffer.gap(step.side, step.gap);
      return;
    }
    for (const piece of cut(step.data, mode)) {
      if (!sniffer.wants(step.side)) return;
      const copy = Buffer.from(piece);
      sniffer.data(step.side, copy);
      copy.fill(0xee);
    }
  });
  sniffer.end(Side.Client);
  sniffer.end(Side.Server);
  return { units: ctx.units, errors: ctx.errors };
}

function cut(data: Buffer, mode: FeedMode): Buffer[] {
  if (mode.kind === 'whole') return [data];
  if (mode.kind === 'split') {
    return [data.subarray(0, mode.at), data.subarray(mode.at)].filter((p) => p.length > 0);
  }
  return Array.from({ length: data.length }, (_, i) => data.subarray(i, i + 1));
}

/** Fed whole, byte by byte and split at every offset, `steps` give the same outcome (returned). */
function cutIndependent(steps: Step[]): Outcome {
  const chunks = steps.filter((s): s is FollowChunk => 'data' in s);
  return assertCutIndependent(chunks, (mode) => feedSteps(steps, mode));
}

/** tshark follow shows a hole as the text `[N bytes missing in capture file]`: make it a gap. */
function withGaps(chunks: FollowChunk[]): Step[] {
  return chunks.map((c) => {
    const hole = /^\[(\d+) bytes missing in capture file\]/.exec(c.data.toString('latin1'));
    return hole === null ? c : { side: c.side, gap: Number(hole[1]) };
  });
}

function rowsOf(capture: string, stream: number): TsharkRow[] {
  return (corpusExpected(capture, 'http') as unknown as TsharkRow[]).filter(
    (r) => r.stream === stream,
  );
}

function assertResponse(unit: RecordUnit, t: TsharkMessage, what: string): void {
  const http = unit.http!;
  assert.equal(http.statusCode, t.status, `${what} status`);
  assert.equal(http.response.contentLength, t.body_len, `${what} body length`);
  assert.equal(http.response.body?.length ?? 0, t.body_len, `${what} body`);
  assert.equal(
    http.response.header!.get('Content-Length')?.[0],
    t.content_length?.toString(),
    `${what} Content-Length`,
  );
}

/** Records (body capture on) against tshark's rows, request by request, then the orphans. */
function assertMatchesTshark(units: RecordUnit[], rows: TsharkRow[]): void {
  const requests = rows.filter((r) => r.orphan_response === undefined);
  const orphans = rows.filter((r) => r.orphan_response !== undefined);
  const ours = units.filter((u) => u.http!.request.header !== null);
  const ourOrphans = units.filter((u) => u.http!.request.header === null);
  assert.equal(ours.length, requests.length, 'requests');
  assert.equal(ourOrphans.length, orphans.length, 'orphan responses');
  requests.forEach((t, i) => {
    const http = ours[i]!.http!;
    const what = `${t.method} ${t.uri}`;
    assert.equal(http.method, t.method, what);
    assert.equal(http.uri, t.uri, what);
    assert.equal(http.proto, t.version, `${what} version`);
    assert.equal(http.host, t.host ?? '', `${what} host`);
    assert.equal(http.request.contentLength, t.body_len, `${what} request body`);
    if (t.response === null) assert.equal(http.statusCode, 0);
    else assertResponse(ours[i]!, t.response, what);
  });
  orphans.forEach((t, i) => {
    assert.equal(ourOrphans[i]!.http!.method, '');
    assert.equal(ourOrphans[i]!.host, '');
    assertResponse(ourOrphans[i]!, t.orphan_response!, `orphan ${i}`);
  });
}

describe('HTTP/1 corpus captures with malformed or missing bytes', () => {
  test('zk-http-methods.pcap: odd methods, malformed request lines, orphan responses', () => {
    const streams = followTcpStreams(corpusCapture('zk-http-methods.pcap'), firstStreams(49));
    assert.equal(streams.length, 49);
    // The one-shot follow reads like the helper's.
    assert.deepStrictEqual(
      streams[3]!.chunks,
      followTcpStream(corpusCapture('zk-http-methods.pcap'), 3).chunks,
    );
    const expected = new Map<string, number>();
    const seen = new Map<string, number>();
    for (const stream of streams) {
      const rows = rowsOf('zk-http-methods.pcap', stream.index);
      const whole = cutIndependent(stream.chunks);
      assertMatchesTshark(whole.units, rows);
      // Every response ended where its framing said (a HEAD response has no body, …).
      assert.ok(whole.units.every((u) => u.err === ''));
      for (const e of whole.errors) bump(seen, e.code);
      for (const r of rows) {
        // tshark's orphans follow request lines tapgate rejects as well (`GET/ HTTP/1.1`,
        // `ÃÃÃ / HTTP/1.`, `OPTIONSHTTP/1.1`): one bad request line, one response without request.
        if (r.orphan_response !== undefined) {
          bump(expected, 'bad_request_line');
          bump(expected, 'orphan_response');
        } else if (r.version === '') bump(expected, 'missing_version');
        else if (r.version !== 'HTTP/1.1') bump(expected, 'bad_version');
      }
    }
    assert.deepStrictEqual(seen, expected);
  });

  test('zk-snaplen96-http.pcap: heads cut by a 96-byte snaplen are salvaged', () => {
    const [request, response, more] = followTcpStream(
      corpusCapture('zk-snaplen96-http.pcap'),
      0,
    ).chunks;
    // Each packet kept 30 payload bytes of tcp.len 496 (frame 4), 1448 (frame 6), 283 (frame 8).
    const steps: Step[] = [
      request!,
      { side: 0, gap: 496 - 30 },
      response!,
      { side: 1, gap: 1448 - 30 },
      more!,
      { side: 1, gap: 283 - 30 },
    ];
    const whole = cutIndependent(steps);
    assert.deepStrictEqual(whole.errors, []);
    // tshark reports the cut version `HTT` and status 200, and so do the records.
    assertMatchesTshark(whole.units, rowsOf('zk-snaplen96-http.pcap', 0));
    const unit = whole.units[0]!;
    assert.equal(unit.err, 'gap in stream');
    assert.equal(unit.inputBytes, 30);
    assert.equal(unit.outputBytes, 30);
    // `Date: Tue, 16` never got its line ending: only complete field lines are kept.
    assert.deepStrictEqual(unit.http!.response.header, new Map());
  });

  test('sv-http10-gap.pcap: a gap inside a Content-Length body is absorbed', () => {
    const stream = followTcpStream(corpusCapture('sv-http10-gap.pcap'), 0);
    const steps = withGaps(stream.chunks);
    assert.ok(steps.some((s) => 'gap' in s && s.gap === 14));
    const whole = cutIndependent(steps);
    assert.deepStrictEqual(whole.errors, []);
    const rows = rowsOf('sv-http10-gap.pcap', 0);
    assert.deepStrictEqual(
      whole.units.map((u) => u.http!.uri),
      rows.map((r) => r.uri),
    );
    // tshark stops parsing responses after the hole and pairs /2 with the response to /3 (12
    // bytes), /3 with nothing. The bytes say /2 got a 70-byte body (56 seen + 14 lost) and /3
    // the 12-byte one.
    const [one, two, three] = whole.units.map((u) => u.http!);
    assert.equal(one!.response.contentLength, rows[0]!.response!.body_len);
    assert.equal(two!.statusCode, 200);
    assert.equal(two!.response.header!.get('Content-Length')?.[0], '70');
    assert.equal(two!.response.contentLength, 70);
    // Capture stops at the hole: the 14 bytes before it are kept, nothing is made up.
    assert.deepStrictEqual(two!.response.body, Buffer.from('A'.repeat(14)));
    assert.equal(three!.statusCode, 200);
    assert.equal(three!.response.contentLength, 12);
    assert.deepStrictEqual(three!.response.body, Buffer.from('Hello People'));
    assert.ok(
      whole.units.every((u) => u.err === '' && u.host === '' && u.http!.proto === 'HTTP/1.0'),
    );
    // The lost bytes count as transferred; the 2 stray bytes after the last body belong to no
    // response (the placeholder chunk is 35 bytes of text standing for 14).
    const serverBytes = stream.chunks
      .filter((c) => c.side === 1)
      .reduce((n, c) => n + c.data.length, 0);
    assert.equal(
      whole.units.reduce((n, u) => n + u.outputBytes, 0),
      serverBytes - 35 + 14 - 2,
    );
    // Times: each request starts with its chunk, each exchange ends with its response's last one.
    const clientSteps = steps.flatMap((s, i) => (s.side === 0 ? [i] : []));
    assert.deepStrictEqual(
      whole.units.map((u) => u.start),
      clientSteps.map(at),
    );
    assert.deepStrictEqual(whole.units[1]!.end, at(9)); // the last 14 bytes of /2's body
  });
});

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
