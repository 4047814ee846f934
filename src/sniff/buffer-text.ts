/**
 * Text from byte ranges of a Buffer, for the parsers' hot paths.
 */

/** Node's own Buffer decoders, which `toString(encoding, start, end)` dispatches to. */
interface BufferSlices {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * `bytes.toString('latin1', start, end)` without the encoding dispatch and argument coercion
 * (a few hundred thousand calls per capture). Caller guarantees `0 <= start <= end <= length`.
 */
export function latin1(bytes: Buffer, start: number, end: number): string {
  return (bytes as unknown as BufferSlices).latin1Slice(start, end);
}

/** `bytes.toString('utf8', start, end)`, as `latin1` (U+FFFD for invalid sequences). */
export function utf8(bytes: Buffer, start: number, end: number): string {
  return (bytes as unknown as BufferSlices).utf8Slice(start, end);
}
