/**
 * The contract between the chunked reader and a format parser (classic pcap, pcapng).
 *
 * A walker is a state machine over a byte stream it sees window by window. `walk` consumes every
 * complete record in the window and returns where it stopped; an incomplete record at the end is not
 * an error, it is simply left for the next window (the reader carries it over). Problems are counted
 * in the shared `SourceStats`; `done` turns true when the input cannot be followed any further.
 */
import type { CaptureInterface, FrameConsumer } from './frame.ts';

/** Largest captured length accepted for one frame (libpcap's MAXIMUM_SNAPLEN). */
export const MAX_CAPLEN_BYTES = 262144;
/** A snaplen of 0 in a file means "no limit"; interfaces report this instead. */
export const DEFAULT_SNAPLEN = 262144;

export interface RecordWalker {
  /** Interfaces known so far (pcapng adds one per IDB; ids are unique across sections). */
  readonly interfaces: readonly CaptureInterface[];
  /** True once the walker stopped for good (unrecoverable framing); the caller stops reading. */
  readonly done: boolean;
  /**
   * Consumes complete records of `buf[start, end)`, calling `consumer.onFrame` for each frame, and
   * returns the offset of the first unconsumed byte. A return value past `end` asks the reader to skip
   * input not read yet. With a null consumer the walker reads headers only and stops before the first
   * frame-bearing record (used to learn the interfaces when the file is opened).
   */
  walk(buf: Buffer, start: number, end: number, consumer: FrameConsumer | null): number;
  /** The input ended with `unconsumed` bytes of an incomplete record (0: clean end). */
  finish(unconsumed: number): void;
}
