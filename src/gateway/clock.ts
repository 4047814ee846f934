/**
 * Wall-clock time with nanosecond resolution for gateway records. `Date.now()` has milliseconds
 * only; GOST stamps records with Go's `time.Now()` (ns). The monotonic `process.hrtime.bigint()` is
 * anchored to the wall clock once, so consecutive stamps never go backwards and durations between
 * them are exact.
 */
import type { Timestamp } from '../sniff/sniffer.ts';

const NS_PER_MS = 1_000_000n;
const NS_PER_SEC = 1_000_000_000n;

/** Wall-clock ns minus monotonic ns, taken at module load. */
const anchorNs = BigInt(Date.now()) * NS_PER_MS - process.hrtime.bigint();

/** Now, as seconds and nanoseconds since the Unix epoch. */
export function wallClock(): Timestamp {
  const ns = process.hrtime.bigint() + anchorNs;
  return { sec: Number(ns / NS_PER_SEC), nsec: Number(ns % NS_PER_SEC) };
}
