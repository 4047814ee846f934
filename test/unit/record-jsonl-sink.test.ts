/**
 * JsonlSink: the lines it writes are serializeRecord's, whatever the chunking; byte counts, encode
 * errors and the pcapFiles option.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serializeRecord } from '../../src/record/gost-json.ts';
import { JsonlSink } from '../../src/record/jsonl-sink.ts';
import type { FlowExtension, GostRecord } from '../../src/record/record-types.ts';

const T0 = 1_772_615_706;

function flowOf(n: number): FlowExtension {
  return {
    communityId: '1:hF2t+kPwaZ/I9toNGJwVCZQeksM=',
    clientPackets: n,
    clientBytes: n * 100,
    serverPackets: n + 1,
    serverBytes: n * 1000,
    firstSeen: { sec: T0 + (n >> 4), nsec: n * 7919 },
    lastSeen: { sec: T0 + (n >> 3), nsec: 999_999_999 - n },
    midstream: n % 2 === 0,
    gaps: 0,
    gapBytes: 0,
    cutoff: false,
    pcap: [],
  };
}

function record(n: number, body: Buffer | null = null): GostRecord {
  return {
    service: 'svc',
    network: 'tcp',
    remote: `10.0.0.1:${40000 + n}`,
    local: '10.0.0.2:80',
    client: '',
    src: '',
    dst: '10.0.0.2:80',
    host: n % 5 === 0 ? 'hôte.example:80' : 'example.org:80',
    proto: 'http',
    clientIP: '10.0.0.1',
    http: {
      host: 'example.org',
      method: 'GET',
      proto: 'HTTP/1.1',
      scheme: '',
      uri: `/item/${n}?q=<${n}>`,
      cached: false,
      statusCode: 200,
      request: {
        contentLength: 0,
        header: new Map([
          ['User-Agent', ['curl/8']],
          ['Accept', ['*/*']],
        ]),
        body: null,
      },
      response: {
        contentLength: body?.length ?? 0,
        header: new Map([['Content-Type', ['text/plain; charset=utf-8']]]),
        body,
      },
    },
    inputBytes: n,
    outputBytes: 2 * n,
    sid: `sid${n}`,
    duration: n * 1000,
    time: { sec: T0 + (n >> 4), nsec: n },
    flow: flowOf(n),
  };
}

async function withFile(run: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tapgate-sink-'));
  try {
    await run(join(dir, 'records.jsonl'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('lines are serializeRecord output, over many chunks; bytes counts UTF-8 bytes', async () => {
  await withFile(async (path) => {
    const sink = await JsonlSink.open(path);
    const records = Array.from({ length: 3000 }, (_, n) => record(n));
    // One record far larger than a chunk, in the middle.
    records.splice(1500, 0, record(1500, Buffer.alloc(300_000, 0x61)));
    let want = '';
    for (const rec of records) {
      sink.write(rec);
      want += serializeRecord(rec) + '\n';
      await sink.drain();
    }
    await sink.close();
    const got = readFileSync(path, 'utf8');
    assert.equal(got, want);
    assert.equal(sink.stats.records, records.length);
    assert.equal(sink.stats.bytes, Buffer.byteLength(want));
    assert.equal(sink.stats.bytes, statSync(path).size);
    assert.equal(sink.stats.encodeErrors, 0);
  });
});

test('a record that cannot be encoded is counted and leaves no trace', async () => {
  await withFile(async (path) => {
    const sink = await JsonlSink.open(path);
    const bad = record(2);
    bad.flow!.gapBytes = 1.5; // fails late, after most of the line was written
    sink.write(record(1));
    sink.write(bad);
    sink.write(record(3));
    await sink.close();
    assert.equal(
      readFileSync(path, 'utf8'),
      serializeRecord(record(1)) + '\n' + serializeRecord(record(3)) + '\n',
    );
    assert.deepEqual(sink.stats, {
      records: 2,
      bytes: statSync(path).size,
      writeErrors: 0,
      encodeErrors: 1,
    });
  });
});

test('pcapFiles fills flow.pcap from the flow span', async () => {
  await withFile(async (path) => {
    const spans: [number, number][] = [];
    const sink = await JsonlSink.open(path, {
      pcapFiles: (first, last) => {
        spans.push([first, last]);
        return [`pcap/${first}.pcap.gz`, `pcap/${last}.pcap.gz`];
      },
    });
    const rec = record(40);
    sink.write(rec);
    await sink.close();
    assert.deepEqual(spans, [[T0 + 2, T0 + 5]]);
    assert.match(
      readFileSync(path, 'utf8'),
      /,"pcap":\["pcap\/1772615708\.pcap\.gz","pcap\/1772615711\.pcap\.gz"\]\}\}\n$/,
    );
  });
});
