/**
 * Problems a capture file source survives, by stable snake_case cause. They are counted in
 * `SourceStats.errors` and never thrown: only an unusable input (not a capture, unreadable) throws a
 * `TapgateError`. Causes are stable like error codes; the surrounding messages may change.
 *
 * Truncated is told apart from malformed (gopacket): `truncated_record` means the input ran out, the
 * others mean a value in the file is impossible.
 */
import type { SourceStats } from './frame.ts';

export const SourceErrorCause = {
  /** The input ended inside a record or block; everything before it was delivered. */
  TruncatedRecord: 'truncated_record',
  /** A frame longer than the interface snaplen: delivered anyway (the writer trims), counted. */
  CaplenOverSnaplen: 'caplen_over_snaplen',
  /** Captured length beyond any sane frame or beyond its block: classic pcap stops, pcapng skips the block. */
  BadRecordLength: 'bad_record_length',
  /** pcapng block framing is broken (length < 12, not a multiple of 4, trailer mismatch, bad byte-order magic). */
  BadBlock: 'bad_block',
  /** A pcapng packet names an interface that no IDB of its section described: skipped. */
  UnknownInterface: 'unknown_interface',
  /** The gzip stream is damaged or cut: frames decoded before the damage were delivered. */
  GzipCorrupt: 'gzip_corrupt',
} as const;
export type SourceErrorCause = (typeof SourceErrorCause)[keyof typeof SourceErrorCause];

/** Adds `n` to the counter of `cause`. */
export function countSourceError(stats: SourceStats, cause: SourceErrorCause, n = 1): void {
  stats.errors[cause] = (stats.errors[cause] ?? 0) + n;
}

/** Fresh zeroed counters. */
export function newSourceStats(inputBytesTotal: number): SourceStats {
  return { frames: 0, bytes: 0, inputBytesRead: 0, inputBytesTotal, errors: {} };
}
