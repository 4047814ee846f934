/**
 * JsonWriter, the byte-level encoder under the record serializer, against the string forms it
 * replaces: quoteJsonString (gost-json.ts), String(n), formatRfc3339Nano (rfc3339.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { quoteJsonString } from '../../src/record/gost-json.ts';
import { JsonWriter, literal } from '../../src/record/json-writer.ts';
import { formatRfc3339Nano } from '../../src/record/rfc3339.ts';
import type { Timestamp } from '../../src/sniff/sniffer.ts';
import { rng } from '../helpers/random.ts';

/** What `write` puts into a fresh writer, as bytes; a tiny start capacity exercises growth. */
function bytesOf(write: (w: JsonWriter) => void, capacity = 4): Buffer {
  const w = new JsonWriter(capacity);
  write(w);
  return Buffer.from(w.take());
}

const POOL = [
  'a',
  'Z',
  '0',
  ' ',
  '~',
  '/',
  '"',
  '\\',
  '<',
  '>',
  '&',
  '\n',
  '\t',
  '\b',
  '\f',
  '\r',
  '\x00',
  '\x1f',
  '\x7f',
  'é',
  '\u07ff',
  '\u0800',
  '\u2028',
  '\u2029',
  '中',
  '\ufffd',
  '\ufffe',
  '😀',
  '\u{10ffff}',
  '\ud800',
  '\udbff',
  '\udc00',
  '\udfff',
];

function randomText(rand: () => number, maxLength: number, cleanBias: number): string {
  let s = '';
  const length = Math.floor(rand() * maxLength);
  for (let i = 0; i < length; i++) {
    // Mostly one plain character with an occasional special one, as real values are.
    s += rand() < cleanBias ? 'x' : POOL[Math.floor(rand() * POOL.length)]!;
  }
  return s;
}

test('str writes the UTF-8 bytes of quoteJsonString (random text, short and long)', () => {
  const rand = rng(21);
  for (let n = 0; n < 5000; n++) {
    // Lengths up to 150 cover the JS loop and the regex + native copy of long strings.
    const s = randomText(rand, n % 2 === 0 ? 20 : 150, n % 3 === 0 ? 0.99 : 0.5);
    const got = bytesOf((w) => {
      w.str(s);
    });
    assert.deepEqual(got, Buffer.from(quoteJsonString(s)), JSON.stringify(s));
  }
});

test('str: clean long text, escapes at either end, empty', () => {
  const long = 'k'.repeat(200);
  for (const s of [long, '<' + long, long + '>', long + '\ud800', '', '"', 'x'.repeat(63) + '&']) {
    assert.deepEqual(
      bytesOf((w) => {
        w.str(s);
      }),
      Buffer.from(quoteJsonString(s)),
    );
  }
});

test('int writes String(n) for safe integers and refuses anything else', () => {
  const values = [0, -0, 1, -1, 9, 10, 99, 100, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), -(2 ** 31) - 1];
  values.push(Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e15, 999_999_999_999_999);
  const rand = rng(5);
  for (let n = 0; n < 20_000; n++) {
    const magnitude = 10 ** Math.floor(rand() * 16);
    values.push(Math.trunc((rand() * 2 - 1) * magnitude));
  }
  for (const v of values) {
    assert.equal(
      bytesOf((w) => {
        w.int(v);
      }).toString(),
      String(v),
    );
  }
  for (const bad of [1.5, Number.NaN, Infinity, 2 ** 53, -(2 ** 53)]) {
    assert.throws(() => {
      new JsonWriter(16).int(bad);
    }, RangeError);
  }
});

test('time writes formatRfc3339Nano in quotes, cached seconds or not', () => {
  const rand = rng(9);
  const offsets = [undefined, 0, 60, -330, 345, 14 * 60, 485 + 43 / 60, -(485 + 43 / 60)];
  const base = 1_772_615_706; // 2026-03-04
  const stamps: Timestamp[] = [
    { sec: 0, nsec: 0 },
    { sec: -1, nsec: 999_999_999 },
    { sec: -30_610_224_001, nsec: 10 },
    { sec: 4_294_967_295, nsec: 100_000_000 },
    // Not normalized: written by the general formatter.
    { sec: base, nsec: 1_500_000_000 },
    { sec: base, nsec: -1 },
  ];
  for (let n = 0; n < 3000; n++) {
    // Few distinct seconds, some 64 apart (the same cache slot), in no particular order.
    const sec = base + Math.floor(rand() * 4) * (rand() < 0.5 ? 1 : 64) - Math.floor(rand() * 3);
    const digits = Math.floor(rand() * 10);
    const nsec = rand() < 0.1 ? 0 : Math.floor(rand() * 10 ** digits) * 10 ** (9 - digits);
    stamps.push({ sec, nsec });
  }
  for (const ts of stamps) {
    const offset = offsets[Math.floor(rand() * offsets.length)];
    assert.equal(
      bytesOf((w) => {
        w.time(ts, offset);
      }).toString(),
      '"' + formatRfc3339Nano(ts, offset) + '"',
      `${ts.sec} ${ts.nsec} ${offset}`,
    );
  }
});

test('bytes: base64 of a Buffer or of a Uint8Array view, null for null', () => {
  const backing = new Uint8Array([9, 0, 1, 2, 0xfe, 0xff, 7]);
  const view = backing.subarray(1, 6);
  const write = (b: Uint8Array | null) =>
    bytesOf((w) => {
      w.bytes(b);
    }).toString();
  assert.equal(write(view), '"AAEC/v8="');
  assert.equal(write(Buffer.from(view)), '"AAEC/v8="');
  assert.equal(write(Buffer.alloc(0)), '""');
  assert.equal(write(null), 'null');
  const big = Buffer.alloc(100_000, 0xab);
  assert.equal(write(big), '"' + big.toString('base64') + '"');
});

test('lit writes its text exactly; what follows overwrites the word padding', () => {
  for (const text of ['', ',', ',"a":', '{"contentLength":', ',"clientPackets":', 'true']) {
    const got = bytesOf((w) => {
      w.lit(literal(text));
      w.char(0x21);
      w.lit(literal(text));
    }, 1);
    assert.equal(got.toString(), text + '!' + text);
  }
  assert.throws(() => literal('é'), RangeError);
  assert.throws(() => literal('\n'), RangeError);
});

test('take hands over the bytes and starts again; pos can be moved back', () => {
  const w = new JsonWriter(8);
  w.str('hello, world');
  w.char(0x2c);
  const mark = w.pos;
  w.int(123456);
  w.pos = mark;
  w.bool(true);
  const first = w.take();
  assert.equal(first.toString(), '"hello, world",true');
  assert.equal(w.pos, 0);
  w.null();
  assert.equal(w.text(), 'null');
  assert.equal(first.toString(), '"hello, world",true', 'taken bytes stay as they were');
});

test('time in the local zone agrees with formatRfc3339Nano across DST switches (child process)', () => {
  const writerUrl = pathToFileURL(join(import.meta.dirname, '../../src/record/json-writer.ts'));
  const rfcUrl = pathToFileURL(join(import.meta.dirname, '../../src/record/rfc3339.ts'));
  // New York's 2024 switches and Lord Howe's half-hour one; each second re-visited after others
  // (a long flow's firstSeen), so cached seconds are read back in other 15-minute buckets.
  const instants = [1_710_054_000, 1_730_613_600, 1_696_087_800];
  const secs: number[] = [];
  for (const t of instants)
    for (const d of [-3601, -1, 0, 1, 1800, -1, 0, 3600, -3601]) secs.push(t + d);
  const code = `
    import { JsonWriter } from ${JSON.stringify(writerUrl.href)};
    import { formatRfc3339Nano } from ${JSON.stringify(rfcUrl.href)};
    const w = new JsonWriter(64);
    const bad = [];
    for (const sec of ${JSON.stringify(secs)}) {
      for (const nsec of [0, 5, 999999999]) {
        w.pos = 0;
        w.time({ sec, nsec }, undefined);
        const want = '"' + formatRfc3339Nano({ sec, nsec }) + '"';
        if (w.text() !== want) bad.push([sec, nsec, w.text(), want]);
      }
    }
    console.log(JSON.stringify(bad));`;
  for (const tz of ['America/New_York', 'Australia/Lord_Howe', 'UTC']) {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { env: { ...process.env, TZ: tz }, encoding: 'utf8' },
    );
    assert.deepEqual(JSON.parse(out), [], tz);
  }
});
