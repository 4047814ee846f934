/**
 * Later IP fragments carry no ports: this map sends them to the flow their first fragment opened,
 * keyed by (addresses, protocol, fragment id). Bounded: the oldest entry goes when full, and an entry
 * whose flow slot was reused since (generation changed) or that is older than `maxAgeSec` is ignored.
 * Fragments are rare, so a string-keyed Map is fine here (never on the per-packet path).
 */
import type { PacketDecoder } from '../decode/packet-decoder.ts';

interface FragmentEntry {
  slot: number;
  generation: number;
  seenSec: number;
}

export class FragmentMap {
  readonly #entries = new Map<string, FragmentEntry>();
  readonly #maxEntries: number;
  readonly #maxAgeSec: number;

  constructor(maxEntries = 8192, maxAgeSec = 30) {
    this.#maxEntries = maxEntries;
    this.#maxAgeSec = maxAgeSec;
  }

  get size(): number {
    return this.#entries.size;
  }

  remember(d: PacketDecoder, data: Buffer, slot: number, generation: number, nowSec: number): void {
    const key = fragmentKey(d, data);
    this.#entries.delete(key);
    if (this.#entries.size >= this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, { slot, generation, seenSec: nowSec });
  }

  /** The flow slot of the fragment's datagram, or -1. */
  find(d: PacketDecoder, data: Buffer, generations: Uint32Array, nowSec: number): number {
    const e = this.#entries.get(fragmentKey(d, data));
    if (!e || generations[e.slot] !== e.generation || nowSec - e.seenSec > this.#maxAgeSec) {
      return -1;
    }
    return e.slot;
  }
}

function fragmentKey(d: PacketDecoder, data: Buffer): string {
  if (d.ipVersion === 4) return `4|${d.src4}|${d.dst4}|${d.proto}|${d.fragmentId}`;
  const src = data.toString('hex', d.src6Offset, d.src6Offset + 16);
  const dst = data.toString('hex', d.dst6Offset, d.dst6Offset + 16);
  return `6|${src}|${dst}|${d.proto}|${d.fragmentId}`;
}
