/**
 * pcapng timestamp conversion against a BigInt reference, for every if_tsresol form: the split
 * 64-bit division must be exact where the count no longer fits a double (nanoseconds today).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newFrameView } from '../../src/capture/frame.ts';
import { TsConverter } from '../../src/capture/pcapng-timestamp.ts';

/** Deterministic 32-bit generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function reference(ts: bigint, tsresol: number, offset: number): [number, number] {
  const units = (tsresol & 0x80) !== 0 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
  return [Number(ts / units) + offset, Number(((ts % units) * 1_000_000_000n) / units)];
}

const RESOLUTIONS = [
  ...Array.from({ length: 16 }, (_, n) => n), // 10^-0 … 10^-15
  ...[0, 1, 10, 20, 23, 24, 30, 32, 40, 63].map((n) => 0x80 | n), // 2^-n
];

test('TsConverter matches BigInt arithmetic for every resolution', () => {
  const next = rng(42);
  const frame = newFrameView();
  for (const tsresol of RESOLUTIONS) {
    const conv = new TsConverter(tsresol, 17);
    const units = (tsresol & 0x80) !== 0 ? 1n << BigInt(tsresol & 0x7f) : 10n ** BigInt(tsresol);
    // A 64-bit count, with seconds below 2^53 so the reference is exact as a Number too.
    const limit = (1n << 53n) * units < 1n << 64n ? (1n << 53n) * units : 1n << 64n;
    const samples: bigint[] = [
      0n,
      1n,
      units - 1n,
      units,
      units + 1n,
      (1n << 53n) - 1n,
      1n << 53n,
      (1n << 64n) - 1n,
    ];
    for (let i = 0; i < 2000; i++) samples.push((BigInt(next()) << 32n) | BigInt(next()));
    for (let i = 0; i < 200; i++) samples.push(BigInt(next()) * units - 1n); // just before a second
    for (const raw of samples) {
      const ts = raw % limit;
      const hi = Number(ts >> 32n);
      const lo = Number(ts & 0xffffffffn);
      conv.apply(hi, lo, frame);
      assert.deepEqual(
        [frame.tsSec, frame.tsNsec],
        reference(ts, tsresol, 17),
        `tsresol ${tsresol} ts ${ts}`,
      );
    }
  }
});

test('TsConverter reports ns precision only for units finer than a microsecond', () => {
  assert.equal(new TsConverter().precision, 'us');
  assert.equal(new TsConverter(6).precision, 'us');
  assert.equal(new TsConverter(7).precision, 'ns');
  assert.equal(new TsConverter(9).precision, 'ns');
  assert.equal(new TsConverter(0x80 | 19).precision, 'us'); // 1.9 µs
  assert.equal(new TsConverter(0x80 | 20).precision, 'ns'); // 0.95 µs
});

test('TsConverter: today in nanoseconds (beyond 2^53) is exact', () => {
  const frame = newFrameView();
  const conv = new TsConverter(9);
  const ts = 1_732_000_000_999_999_999n;
  conv.apply(Number(ts >> 32n), Number(ts & 0xffffffffn), frame);
  assert.deepEqual([frame.tsSec, frame.tsNsec], [1_732_000_000, 999_999_999]);
});
