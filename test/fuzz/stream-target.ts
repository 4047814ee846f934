/**
 * The shape the stream sniffer targets share: an input is a chunk list (`encodeChunks`), run feeds
 * it to a fresh sniffer the way reassembly would (copies scribbled over after each call, only
 * while the side is wanted), ends both sides, and every emitted unit is checked.
 */
import type { ConnectionEndpoints, SniffConfig, StreamSniffer } from '../../src/sniff/sniffer.ts';
import { fuzzContext, type FuzzContext } from './check.ts';
import {
  decodeChunks,
  encodeChunks,
  MAX_INPUT_BYTES,
  mutateChunks,
  type Chunk,
} from './mutators.ts';
import type { Prng } from './prng.ts';
import type { Seeds } from './seeds.ts';
import type { Target } from './target.ts';

export interface StreamTargetSpec {
  name: string;
  about: string;
  seeds(corpus: Seeds): Chunk[][];
  /** Hand-written seeds (inputs the corpus lacks). */
  extraSeeds?: Chunk[][];
  endpoints?: Partial<ConnectionEndpoints>;
  config?: Partial<SniffConfig>;
  make(ctx: FuzzContext): StreamSniffer;
  /** Structure-aware mutation of one side's whole stream. */
  structured(rng: Prng, data: Buffer, side: 0 | 1): Buffer;
}

/** At most this many seed connections per target (keeps start-up and memory small). */
const MAX_SEEDS = 64;

export function feed(ctx: FuzzContext, sniffer: StreamSniffer, chunks: readonly Chunk[]): void {
  for (const { side, data } of chunks) {
    if (!sniffer.wants(side)) continue;
    ctx.tick();
    const copy = Buffer.from(data);
    sniffer.data(side, copy);
    copy.fill(0xee);
  }
  sniffer.end(0);
  sniffer.end(1);
}

export function streamTarget(spec: StreamTargetSpec): Target {
  return {
    name: spec.name,
    about: spec.about,
    seeds(corpus) {
      const all = [...spec.seeds(corpus), ...(spec.extraSeeds ?? [])];
      return all.slice(0, MAX_SEEDS).map(encodeChunks);
    },
    mutate(rng, input, other) {
      const structured = (r: Prng, data: Buffer, side: 0 | 1): Buffer => {
        const out = spec.structured(r, data, side);
        return out.length > MAX_INPUT_BYTES ? out.subarray(0, MAX_INPUT_BYTES) : out;
      };
      return encodeChunks(mutateChunks(rng, decodeChunks(input), decodeChunks(other), structured));
    },
    run(input) {
      const ctx = fuzzContext(spec.endpoints, spec.config);
      feed(ctx, spec.make(ctx), decodeChunks(input));
    },
  };
}

const te = (s: string): Buffer => Buffer.from(s, 'latin1');

/** A chunk list from alternating client/server strings. */
export function dialogue(...parts: string[]): Chunk[] {
  return parts.map((p, i) => ({ side: (i % 2) as 0 | 1, data: te(p) }));
}
