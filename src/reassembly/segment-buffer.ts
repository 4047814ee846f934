/**
 * One side's out-of-order bytes: disjoint ranges of stream offsets, sorted, each an owned copy.
 *
 * Invariants: ranges never overlap; `starts[i] + chunks[i].length <= starts[i + 1]`; `bytes` is the
 * sum of the chunk lengths. A segment that overlaps what is held only adds the bytes nobody held
 * yet: the first copy of a byte wins (as Linux and Zeek keep it), and a later copy that differs is
 * counted as a conflict (a possible evasion, or just a broken middlebox).
 *
 * The reassembler bounds the number of chunks, so the linear `splice` on insert stays cheap.
 */

/** Where `insert` reports bytes that arrived more than once. */
export interface OverlapCounters {
  /** Bytes received again (dropped: an earlier copy was kept). */
  retransmittedBytes: number;
  /** Overlapping ranges whose bytes differed from the copy kept. */
  overlapConflicts: number;
}

export class SegmentBuffer {
  readonly #starts: number[] = [];
  readonly #chunks: Buffer[] = [];
  #bytes = 0;
  /** Set by `measure`: bytes an `insert` of that range would copy. */
  measuredBytes = 0;
  /** Set by `measure`: chunks an `insert` of that range would add. */
  measuredPieces = 0;

  /** Bytes held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Chunks held. */
  get count(): number {
    return this.#starts.length;
  }

  /** Stream offset of the first held byte; Infinity when nothing is held. */
  get firstStart(): number {
    return this.#starts.length === 0 ? Infinity : this.#starts[0]!;
  }

  /** Stream offset just past the last held byte; -Infinity when nothing is held. */
  get lastEnd(): number {
    const last = this.#starts.length - 1;
    return last < 0 ? -Infinity : this.#starts[last]! + this.#chunks[last]!.length;
  }

  /** Sets `measuredBytes` / `measuredPieces` for inserting `[start, end)`; allocates nothing. */
  measure(start: number, end: number): void {
    let bytes = 0;
    let pieces = 0;
    let pos = start;
    for (let i = this.#firstEndingAfter(start); pos < end && i < this.#starts.length; i++) {
      const chunkStart = this.#starts[i]!;
      if (chunkStart >= end) break;
      if (chunkStart > pos) {
        bytes += chunkStart - pos;
        pieces++;
      }
      pos = chunkStart + this.#chunks[i]!.length;
    }
    if (pos < end) {
      bytes += end - pos;
      pieces++;
    }
    this.measuredBytes = bytes;
    this.measuredPieces = pieces;
  }

  /**
   * Copies the parts of `data` (stream offsets `[start, start + data.length)`, borrowed) that are
   * not held yet; compares the parts that are.
   */
  insert(start: number, data: Buffer, counters: OverlapCounters): void {
    const end = start + data.length;
    let i = this.#firstEndingAfter(start);
    let pos = start;
    while (pos < end) {
      const chunkStart = i < this.#starts.length ? this.#starts[i]! : Infinity;
      if (chunkStart > pos) {
        const pieceEnd = Math.min(end, chunkStart);
        // Exact-size memory (not a slice of Node's shared pool), so `bytes` is what is retained.
        const piece = Buffer.allocUnsafeSlow(pieceEnd - pos);
        data.copy(piece, 0, pos - start, pieceEnd - start);
        this.#starts.splice(i, 0, pos);
        this.#chunks.splice(i, 0, piece);
        this.#bytes += piece.length;
        pos = pieceEnd;
      } else {
        const chunk = this.#chunks[i]!;
        const overlapEnd = Math.min(end, chunkStart + chunk.length);
        counters.retransmittedBytes += overlapEnd - pos;
        const differs = chunk.compare(
          data,
          pos - start,
          overlapEnd - start,
          pos - chunkStart,
          overlapEnd - chunkStart,
        );
        if (differs !== 0) counters.overlapConflicts++;
        pos = overlapEnd;
      }
      i++;
    }
  }

  /** Removes and returns the first chunk (it starts at `firstStart`); the caller checked `count`. */
  shift(): Buffer {
    this.#starts.shift();
    const chunk = this.#chunks.shift()!;
    this.#bytes -= chunk.length;
    return chunk;
  }

  /** Drops everything; returns the bytes freed. */
  clear(): number {
    const freed = this.#bytes;
    this.#starts.length = 0;
    this.#chunks.length = 0;
    this.#bytes = 0;
    return freed;
  }

  /** Index of the first chunk ending after `offset` (ends are sorted because chunks are disjoint). */
  #firstEndingAfter(offset: number): number {
    let lo = 0;
    let hi = this.#starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#starts[mid]! + this.#chunks[mid]!.length > offset) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
