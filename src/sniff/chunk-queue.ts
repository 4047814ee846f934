/**
 * The bytes a parser has received but not yet consumed, as a list of chunks with a running byte
 * count (after websockets/ws `Receiver`). One queue serves every stream sniffer: HTTP/1,
 * WebSocket, HTTP/2 frames, TLS records and handshakes, DNS over TCP.
 *
 * Borrowing rule (sniffer.ts): the bytes handed to `data()` are valid during that call only.
 *   - `push(chunk)` queues such a borrowed chunk as it is, without copying it.
 *   - Before the `data()` call returns, the owner calls `retain()`: it copies whatever is still
 *     queued of the borrowed chunks into memory the queue owns. The common case (a parser consumes
 *     the whole chunk) costs no copy at all; only leftovers (an incomplete line, a frame header cut
 *     in two) are copied.
 *   - What a read returns aliases queue memory: a view of a borrowed chunk is valid during the
 *     current `data()` call only, so a caller that keeps bytes past it copies them. Owned memory
 *     is never rewritten, so a view of it stays intact.
 *
 * Reads hand out views when the bytes sit in one chunk and copy only when they span chunks
 * (`consume`); `consumeView` never copies. Every read expects its bytes to be queued: the caller
 * checks `size` first. Consuming part of the first chunk moves an offset into it rather than
 * re-slicing it, so `skip` and in-place parsing (`headChunk` / `headOffset`) allocate nothing.
 */

const EMPTY = Buffer.alloc(0);
/** Consumed slots tolerated at the front of the chunk list before it is compacted. */
const COMPACT_AFTER = 1024;
/**
 * Blocks for leftovers start small (an idle connection holds at most this much) and double while
 * the queue stays non-empty (a line trickling in), up to the largest.
 */
const MIN_SPARE_BYTES = 256;
const MAX_SPARE_BYTES = 64 * 1024;

/** Unconsumed bytes of one direction: a chunk list with a byte count. */
export class ChunkQueue {
  #chunks: Buffer[] = [];
  /** Index of the first live chunk in `#chunks` (shifting a long array is O(n)). */
  #head = 0;
  /** Bytes of `#chunks[#head]` already consumed (its live bytes start here). */
  #off = 0;
  #size = 0;
  /** How many chunks at the tail of the list are still borrowed from the caller. */
  #borrowed = 0;
  /**
   * Memo for `indexOf`: the first `#scanned` bytes hold no match for `#scanByte`. Valid until the
   * next consume (push only appends, so it stays true).
   */
  #scanned = 0;
  #scanByte = -1;
  /** Where that scan stopped: a chunk index and the queue offset at which that chunk starts. */
  #scanIndex = 0;
  #scanBase = 0;
  /**
   * Block holding copied leftovers, filled up to `#spareUsed` (never rewritten below it, so views
   * handed out stay valid); `#spareChunk` is the last view made from it, `#spareStart` its start.
   */
  #spare = EMPTY;
  #spareUsed = 0;
  #spareStart = 0;
  #spareChunk: Buffer | null = null;

  /** Bytes queued. */
  get size(): number {
    return this.#size;
  }

  /**
   * The chunk holding the first queued byte, at `headOffset` (caller checks `size > 0`). For
   * parsing in place: same lifetime as a view, and the bytes before `headOffset` are not queued.
   */
  get headChunk(): Buffer {
    return this.#chunks[this.#head]!;
  }

  /** Offset of the first queued byte in `headChunk`. */
  get headOffset(): number {
    return this.#off;
  }

  /** Queues a borrowed chunk (not copied until `retain()`). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    this.#borrowed++;
  }

  /**
   * Copies what is left of the borrowed chunks, so the caller may reuse its buffers. Leftovers are
   * coalesced into a block with spare room that later leftovers are appended to, so a line that
   * trickles in one byte per call costs a few blocks, not one Buffer per byte.
   */
  retain(): void {
    const start = this.#chunks.length - Math.min(this.#borrowed, this.#chunks.length - this.#head);
    this.#borrowed = 0;
    if (start === this.#chunks.length) return;
    // The first chunk may be partly consumed: only its live bytes are copied.
    const skipped = start === this.#head ? this.#off : 0;
    let total = -skipped;
    for (let i = start; i < this.#chunks.length; i++) total += this.#chunks[i]!.length;
    let first = start;
    if (this.#spare.length - this.#spareUsed < total) {
      const grown = Math.min(this.#spare.length * 2, MAX_SPARE_BYTES);
      this.#spare = Buffer.allocUnsafe(Math.max(total, grown, MIN_SPARE_BYTES));
      this.#spareUsed = 0;
      this.#spareStart = 0;
    } else if (start > this.#head && this.#chunks[start - 1] === this.#spareChunk) {
      first = start - 1; // extend the queued view of the previous leftovers
    } else {
      this.#spareStart = this.#spareUsed; // a new view in the free tail of the block
    }
    for (let i = start; i < this.#chunks.length; i++) {
      const from = i === start ? skipped : 0;
      this.#spareUsed += this.#chunks[i]!.copy(this.#spare, this.#spareUsed, from);
    }
    if (start === this.#head) this.#off = 0;
    this.#spareChunk = this.#spare.subarray(this.#spareStart, this.#spareUsed);
    this.#chunks.length = first;
    this.#chunks.push(this.#spareChunk);
    // Chunk boundaries moved: the scan resumes from the first chunk, skipping what it checked.
    this.#scanIndex = this.#head;
    this.#scanBase = 0;
  }

  /** Drops everything queued. */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#off = 0;
    this.#size = 0;
    this.#borrowed = 0;
    this.#releaseSpare();
    this.#resetScan();
  }

  /** The byte at `offset` (caller checks `offset < size`). */
  byteAt(offset: number): number {
    offset += this.#off;
    for (let i = this.#head; ; i++) {
      const c = this.#chunks[i]!;
      if (offset < c.length) return c[offset]!;
      offset -= c.length;
    }
  }

  /**
   * Offset of the first `byte` within the first `limit` queued bytes, or -1. Repeated calls with the
   * same byte resume where the previous scan stopped, so scanning a line that arrives in many
   * pieces stays linear.
   */
  indexOf(byte: number, limit: number): number {
    if (byte !== this.#scanByte) {
      this.#resetScan();
      this.#scanByte = byte;
    }
    const end = Math.min(limit, this.#size);
    let i = this.#scanIndex;
    let base = this.#scanBase;
    for (; i < this.#chunks.length && base < end; i++) {
      const c = this.#chunks[i]!;
      // Positions inside `c` are shifted by `skip` (the consumed part of the first chunk).
      const skip = i === this.#head ? this.#off : 0;
      const live = c.length - skip;
      const to = Math.min(live, end - base);
      const from = this.#scanned - base;
      if (from < to) {
        const at = c.indexOf(byte, skip + Math.max(0, from)) - skip;
        if (at >= 0 && at < to) return base + at;
        this.#scanned = base + to;
      }
      if (to < live) break; // stopped inside this chunk: resume here
      base += live;
    }
    this.#scanIndex = i;
    this.#scanBase = base;
    return -1;
  }

  /** Removes `n` bytes (caller checks `n <= size`): a view when one chunk holds them, else a copy. */
  consume(n: number): Buffer {
    const first = this.#chunks[this.#head];
    if (first !== undefined && first.length - this.#off >= n) return this.#take(first, n);
    const out = Buffer.allocUnsafe(n);
    for (let off = 0; off < n;) {
      const c = this.#chunks[this.#head]!;
      const take = Math.min(c.length - this.#off, n - off);
      c.copy(out, off, this.#off, this.#off + take);
      this.#advance(c, take);
      off += take;
    }
    return out;
  }

  /**
   * Removes up to `max` bytes from the first chunk only and returns them as a view (never copies):
   * 1..`max` bytes, for streaming a payload as it arrives. Caller checks `size > 0`.
   */
  consumeView(max: number): Buffer {
    const first = this.#chunks[this.#head]!;
    return this.#take(first, Math.min(max, first.length - this.#off));
  }

  /** Removes a big-endian uint16 (a length prefix); caller checks `size >= 2`. */
  readU16BE(): number {
    const value = (this.byteAt(0) << 8) | this.byteAt(1);
    this.skip(2);
    return value;
  }

  /** Discards up to `n` bytes, never more than are queued; returns how many were discarded. */
  skip(n: number): number {
    const dropped = Math.min(n, this.#size);
    for (let left = dropped; left > 0;) {
      const c = this.#chunks[this.#head]!;
      const take = Math.min(left, c.length - this.#off);
      this.#advance(c, take);
      left -= take;
    }
    return dropped;
  }

  /** Removes and returns every queued chunk (views; borrowed ones valid during this call only). */
  drain(): Buffer[] {
    const out = this.#chunks.slice(this.#head);
    if (this.#off > 0 && out.length > 0) out[0] = out[0]!.subarray(this.#off);
    this.clear();
    return out;
  }

  /** Removes `n` bytes of the first chunk `chunk` and returns them as a view. */
  #take(chunk: Buffer, n: number): Buffer {
    const start = this.#off;
    const out = start === 0 && n === chunk.length ? chunk : chunk.subarray(start, start + n);
    this.#advance(chunk, n);
    return out;
  }

  /** Removes `n` bytes of the first chunk `chunk` (1..its live bytes). */
  #advance(chunk: Buffer, n: number): void {
    this.#size -= n;
    if (this.#off + n === chunk.length) {
      this.#off = 0;
      this.#chunks[this.#head] = EMPTY;
      this.#head++;
      if (this.#head === this.#chunks.length) {
        this.#chunks.length = 0;
        this.#head = 0;
        this.#releaseSpare(); // views handed out keep their own reference to the block
      } else if (this.#head >= COMPACT_AFTER) {
        this.#chunks = this.#chunks.slice(this.#head);
        this.#head = 0;
      }
      this.#borrowed = Math.min(this.#borrowed, this.#chunks.length - this.#head);
    } else {
      this.#off += n;
    }
    this.#resetScan();
  }

  #releaseSpare(): void {
    this.#spare = EMPTY;
    this.#spareUsed = 0;
    this.#spareStart = 0;
    this.#spareChunk = null;
  }

  #resetScan(): void {
    this.#scanned = 0;
    this.#scanByte = -1;
    this.#scanIndex = this.#head;
    this.#scanBase = 0;
  }
}
