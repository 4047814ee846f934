/**
 * The out-of-order byte budget shared by every connection of one thread.
 *
 * A reassembler reserves here before it copies a segment it cannot deliver yet, and releases when
 * the copy is delivered or dropped. When a reservation would pass the limit, the reassembler gives
 * up waiting for the hole in front of its own buffer (a gap), which frees memory instead of taking
 * more; the counters below record how often that happened and how many bytes were skipped.
 */
export class ReassemblyMemory {
  /** Most out-of-order bytes all connections together may hold. */
  readonly limitBytes: number;
  /** Out-of-order bytes held right now. */
  used = 0;
  /** Bytes reported as gaps because a limit (this one or a connection's own) was reached. */
  evictedBytes = 0;
  /** Times a limit forced a connection to skip a hole. */
  evictions = 0;

  constructor(limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
      throw new RangeError(`reassembly memory limit must be a non-negative integer: ${limitBytes}`);
    }
    this.limitBytes = limitBytes;
  }

  /** True when `bytes` more fit under the limit. */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.limitBytes;
  }
}
