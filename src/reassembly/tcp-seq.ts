/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4: sequence numbers are compared modulo 2^32).
 *
 * The reassembler never stores raw sequence numbers past the first segment of a side: it turns
 * each one into a stream offset (bytes since the side's first byte) by measuring the signed 32-bit
 * distance to the next expected byte. Offsets are plain numbers, so ordering, sorting and lengths
 * need no modular care, and a stream may run past 4 GiB.
 */

/** 2^32: the size of the sequence space. */
export const SEQ_SPACE = 0x1_0000_0000;

/**
 * The largest receive window TCP can advertise: 65535 << 14 with the maximum window-scale shift
 * (RFC 7323 §2.3), just under 2^30. Data, FINs and ACKs farther than this from the next expected
 * byte cannot belong to the stream and are dropped as implausible.
 */
export const MAX_WINDOW = 0x4000_0000;

/**
 * Signed distance from `b` to `a` in sequence space, in [-2^31, 2^31): positive when `a` is ahead.
 * Both arguments may be any non-negative integers below 2^53 (offsets plus a base included): `| 0`
 * reduces the exact difference modulo 2^32 to a signed 32-bit value.
 */
export function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** `seq + n` modulo 2^32, as an unsigned 32-bit value. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) >>> 0;
}
