/**
 * One side's DATA of a stream: the byte count, and with body capture on the first bytes (copied,
 * since DATA arrives in borrowed views), stopped at a capture gap.
 */
export class MessageBody {
  /** DATA payload bytes seen or lost in gaps (padding excluded). */
  dataBytes = 0;
  readonly #limit: number;
  #parts: Buffer[] = [];
  #kept = 0;
  /** A gap left a hole: later bytes would not follow the kept ones. */
  #holed = false;

  /** `limit`: bytes to keep (0 = capture off). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Counts a DATA piece and keeps what fits; returns the number of bytes newly kept. */
  add(piece: Buffer): number {
    this.dataBytes += piece.length;
    const room = this.#holed ? 0 : this.#limit - this.#kept;
    if (room <= 0) return 0;
    const kept = Buffer.from(piece.subarray(0, room));
    this.#parts.push(kept);
    this.#kept += kept.length;
    return kept.length;
  }

  gap(bytes: number): void {
    this.dataBytes += bytes;
    this.#holed = true;
  }

  /** The kept bytes, null when none. */
  body(): Buffer | null {
    if (this.#kept === 0) return null;
    if (this.#parts.length > 1) this.#parts = [Buffer.concat(this.#parts, this.#kept)];
    return this.#parts[0]!;
  }
}
