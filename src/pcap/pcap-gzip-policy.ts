/**
 * Whether deflating the next gzip chunk is worth its CPU.
 *
 * zlib at level 1 costs about 20 ns per byte on data it cannot shrink (encrypted payloads, already
 * compressed files), several times the whole capture pipeline per packet, to save a few percent.
 * So each stream measures what deflate achieves, and while it saves less than `minSaving` of the
 * bytes, chunks are written as stored deflate blocks (level 0: a memcpy with 5 bytes of framing
 * per 64 KiB). Every `probeEvery`-th chunk is still deflated, so the stream returns to compression
 * when the traffic becomes compressible again (plaintext, headers-heavy, DNS).
 *
 *   deflating ──chunk saved < minSaving──► storing ──probe chunk saved ≥ minSaving──► deflating
 *       ▲                                     │ every probeEvery-th chunk: deflate (a probe)
 *       └─────────────────────────────────────┘
 *
 * Stored chunks are ordinary deflate blocks: the file is one valid gzip member either way, and
 * the deflate window (the next chunk's priming dictionary) runs through stored data too.
 * Decisions lag by the chunks already in flight (they deflate in parallel); that is harmless.
 */
export const DEFAULT_GZIP_MIN_SAVING = 0.2;
export const GZIP_PROBE_EVERY = 16;

/** Where the policy counts its decisions (the pcap output's stats). */
export interface GzipChunkCounters {
  gzipChunksDeflated: number;
  gzipChunksStored: number;
}

export class GzipChunkPolicy {
  readonly #level: number;
  readonly #minSaving: number;
  readonly #probeEvery: number;
  readonly #counters: GzipChunkCounters;
  #storing = false;
  #sinceProbe = 0;

  /** `minSaving` 0 deflates every chunk (plain gzip at `level`). */
  constructor(
    level: number,
    minSaving: number,
    counters: GzipChunkCounters = { gzipChunksDeflated: 0, gzipChunksStored: 0 },
    probeEvery = GZIP_PROBE_EVERY,
  ) {
    this.#level = level;
    this.#minSaving = minSaving;
    this.#counters = counters;
    this.#probeEvery = probeEvery;
  }

  get chunksDeflated(): number {
    return this.#counters.gzipChunksDeflated;
  }

  get chunksStored(): number {
    return this.#counters.gzipChunksStored;
  }

  /** The zlib level for the next chunk: the configured one, or 0 (stored). */
  nextLevel(): number {
    if (this.#storing && ++this.#sinceProbe < this.#probeEvery) {
      this.#counters.gzipChunksStored++;
      return 0;
    }
    this.#sinceProbe = 0;
    this.#counters.gzipChunksDeflated++;
    return this.#level;
  }

  /** What a chunk deflated at `level` became; stored chunks (level 0) teach nothing. */
  record(level: number, inBytes: number, outBytes: number): void {
    if (level === 0 || inBytes === 0) return;
    this.#storing = this.#minSaving > 0 && 1 - outBytes / inBytes < this.#minSaving;
  }
}
