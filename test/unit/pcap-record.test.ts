import assert from 'node:assert/strict';
import { test } from 'node:test';

import { newFrameView } from '../../src/capture/frame.ts';
import {
  finalBaseName,
  finalRelPath,
  linkTypeName,
  parseFinalBaseName,
  parseTempBaseName,
  sanitizeSourceName,
  tempBaseName,
} from '../../src/pcap/pcap-naming.ts';
import {
  PcapRecordEncoder,
  PcapRecordScanner,
  WORD_COPY_MAX_BYTES,
  encodePcapFileHeader,
} from '../../src/pcap/pcap-record.ts';
import { ethernetFrame } from '../helpers/pcap-test-helpers.ts';

function fileBytes(n: number, precision: 'us' | 'ns'): Buffer {
  const buf = Buffer.alloc(24 + n * (16 + 200));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.length);
  let off = encodePcapFileHeader(view, 0, 1, 65535, precision);
  const enc = new PcapRecordEncoder();
  const f = newFrameView();
  for (let i = 0; i < n; i++) {
    f.data = ethernetFrame(60 + i * 7, i);
    f.offset = 0;
    f.capLen = f.data.length;
    f.origLen = f.data.length + 5;
    f.tsSec = 1_700_000_000 + i;
    f.tsNsec = 123_456_789;
    off = enc.encode(buf, view, off, f, f.capLen, precision);
  }
  return buf.subarray(0, off);
}

test('file header: little-endian magic for us and ns, version 2.4, snaplen, link type', () => {
  const buf = Buffer.alloc(24);
  const view = new DataView(buf.buffer);
  encodePcapFileHeader(view, 0, 276, 96, 'us');
  assert.equal(buf.toString('hex'), 'd4c3b2a1020004000000000000000000' + '60000000' + '14010000');
  encodePcapFileHeader(view, 0, 1, 262144, 'ns');
  assert.equal(buf.subarray(0, 4).toString('hex'), '4d3cb2a1');
});

test('record: header fields, us truncation of ns, frame bytes copied from the offset', () => {
  const f = newFrameView();
  f.data = Buffer.from('xxxxabcdefyy');
  f.offset = 4;
  f.capLen = 6;
  f.origLen = 1500;
  f.tsSec = 1_700_000_000;
  f.tsNsec = 999_999_999;
  const buf = Buffer.alloc(40);
  const view = new DataView(buf.buffer);
  const enc = new PcapRecordEncoder();
  const end = enc.encode(buf, view, 2, f, 6, 'us');
  assert.equal(end, 2 + 16 + 6);
  assert.equal(buf.readUInt32LE(2), 1_700_000_000);
  assert.equal(buf.readUInt32LE(6), 999_999);
  assert.equal(buf.readUInt32LE(10), 6);
  assert.equal(buf.readUInt32LE(14), 1500);
  assert.equal(buf.subarray(18, 24).toString(), 'abcdef');
  enc.encode(buf, view, 0, f, 3, 'ns');
  assert.equal(buf.readUInt32LE(4), 999_999_999);
  assert.equal(buf.readUInt32LE(8), 3);
  assert.equal(buf.subarray(16, 19).toString(), 'abc');
});

test('record: word copy (small) and Buffer#copy (large) give identical bytes at any offset', () => {
  const src = Buffer.alloc(4096);
  for (let i = 0; i < src.length; i++) src[i] = (i * 7 + 3) & 0xff;
  const enc = new PcapRecordEncoder();
  const f = newFrameView();
  const out = Buffer.alloc(4096);
  const view = new DataView(out.buffer, out.byteOffset, out.length);
  for (const len of [0, 1, 3, 4, 5, 63, WORD_COPY_MAX_BYTES, WORD_COPY_MAX_BYTES + 1, 1514]) {
    for (const [from, to] of [
      [0, 0],
      [1, 3],
      [13, 7],
    ] as const) {
      f.data = src;
      f.offset = from;
      f.capLen = len;
      out.fill(0xaa);
      const end = enc.encode(out, view, to, f, len, 'us');
      assert.equal(end, to + 16 + len);
      assert.ok(
        out.subarray(to + 16, end).equals(src.subarray(from, from + len)),
        `${len}@${from}`,
      );
      assert.equal(out[end], 0xaa, 'nothing written past the record');
    }
  }
  f.data = Buffer.from(src); // a new source buffer: the cached view follows it
  f.data[5] = 0x42;
  f.offset = 5;
  f.capLen = 1;
  enc.encode(out, view, 0, f, 1, 'us');
  assert.equal(out[16], 0x42);
});

test('scanner: same result whole, byte by byte and at random cuts', () => {
  const bytes = fileBytes(20, 'ns');
  const whole = new PcapRecordScanner();
  assert.equal(whole.push(bytes).length, bytes.length);
  assert.equal(whole.packets, 20);
  assert.equal(whole.validBytes, bytes.length);
  assert.deepEqual(whole.header, { linkType: 1, snapLen: 65535, tsPrecision: 'ns' });
  assert.equal(whole.firstSec, 1_700_000_000);
  assert.equal(whole.lastNsec, 123_456_789);

  const splits: number[][] = [[...Array(bytes.length).keys()].map(() => 1)];
  let seed = 7;
  for (let k = 0; k < 20; k++) {
    const parts: number[] = [];
    for (let left = bytes.length; left > 0;) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const n = Math.min(left, 1 + (seed % 300));
      parts.push(n);
      left -= n;
    }
    splits.push(parts);
  }
  for (const parts of splits) {
    const s = new PcapRecordScanner();
    const out: Buffer[] = [];
    let pos = 0;
    for (const n of parts) {
      out.push(Buffer.from(s.push(bytes.subarray(pos, pos + n))));
      pos += n;
    }
    assert.equal(s.packets, 20);
    assert.equal(s.validBytes, bytes.length);
    assert.ok(Buffer.concat(out).equals(bytes));
  }
});

test('scanner: a truncated file keeps its complete records; garbage stops the scan', () => {
  const bytes = fileBytes(5, 'us');
  const cut = new PcapRecordScanner();
  cut.push(bytes.subarray(0, bytes.length - 10));
  assert.equal(cut.packets, 4);
  const fourth = 24 + [0, 1, 2, 3].reduce((a, i) => a + 16 + 60 + i * 7, 0);
  assert.equal(cut.validBytes, fourth);

  const bad = Buffer.from(bytes);
  bad.writeUInt32LE(70000, fourth + 8); // caplen > snaplen 65535
  const s = new PcapRecordScanner();
  s.push(bad);
  assert.equal(s.packets, 4);
  assert.ok(s.stopped);
  assert.equal(s.push(Buffer.alloc(100)).length, 0);

  const noHeader = new PcapRecordScanner();
  noHeader.push(Buffer.from('not a pcap file at all, definitely not'));
  assert.equal(noHeader.header, null);
  assert.equal(noHeader.validBytes, 0);
});

test('naming: sanitising, link type names, stamps, parse round trip', () => {
  assert.equal(sanitizeSourceName('/data/in/trace.pcap.gz'), 'trace');
  assert.equal(sanitizeSourceName('eth0'), 'eth0');
  assert.equal(sanitizeSourceName('..hidden name/ok'), 'ok');
  assert.equal(sanitizeSourceName('..x y:z*'), 'x_y_z_');
  assert.equal(sanitizeSourceName(''), 'capture');
  assert.equal(sanitizeSourceName('a'.repeat(200)).length, 80);
  assert.equal(linkTypeName(1), 'ethernet');
  assert.equal(linkTypeName(276), 'linux_sll2');
  assert.equal(linkTypeName(150), 'user3');
  assert.equal(linkTypeName(4242), 'linktype4242');

  const n = { stream: 'eth0-linux_sll2', stampSec: 1_700_000_041, seq: 0, compressed: true };
  assert.equal(finalBaseName(n), 'eth0-linux_sll2-2023-11-14T22-14-01.pcap.gz');
  assert.equal(finalRelPath(n), '2023/11/14/eth0-linux_sll2-2023-11-14T22-14-01.pcap.gz');
  assert.equal(tempBaseName(n), '.eth0-linux_sll2-2023-11-14T22-14-01.pcap.gz.part');
  assert.deepEqual(parseTempBaseName(tempBaseName(n)), n);
  const n2 = { stream: 'x-1', stampSec: 0, seq: 12, compressed: false };
  assert.equal(finalBaseName(n2), 'x-1-1970-01-01T00-00-00-12.pcap');
  assert.deepEqual(parseFinalBaseName(finalBaseName(n2)), n2);
  assert.equal(parseFinalBaseName('notes.txt'), null);
  assert.equal(parseTempBaseName('.x-1970-01-01T00-00-00.pcap.part.rec'), null);
});
