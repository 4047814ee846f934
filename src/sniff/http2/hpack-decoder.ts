/**
 * One direction's HPACK decoding context (RFC 7541) on top of hpack.js: header blocks must be fed
 * in the order they were sent, every one of them, or the dynamic table drifts. After a decoding
 * error the table is unknown for good and the decoder refuses further blocks.
 *
 * hpack.js's own driver (its Decompressor) is a readable-stream Duplex: every field goes through
 * `push`/`read` and the stream machinery, a third of the decoding time in the sniffer benchmark.
 * This class drives hpack.js's primitive decoder (integers, strings, Huffman) and its table
 * directly, with the same representation-by-representation logic as the Decompressor
 * (RFC 7541 §6), and hands each field straight to the block's collector.
 */
import hpack, { type HpackOctets, type HpackPrimitiveDecoder, type HpackTable } from 'hpack.js';
import { latin1 } from '../buffer-text.ts';
import type { HeaderBlockFields } from './header-fields.ts';
import { HPACK_DEFAULT_TABLE_BYTES, HPACK_MAX_TABLE_BYTES } from './http2-limits.ts';

/** `String.fromCharCode.apply` takes its arguments on the stack: longer strings go by Buffer. */
const APPLY_MAX = 4096;

/** A decoded string literal as wire octets, one per char (latin1), as hpack.js's fields hold them. */
function octets(raw: HpackOctets): string {
  if (Buffer.isBuffer(raw)) return latin1(raw, 0, raw.length);
  if (raw.length <= APPLY_MAX) return String.fromCharCode.apply(null, raw);
  return latin1(Buffer.from(raw), 0, raw.length);
}

export class HpackDecoder {
  /** Null once decoding failed: nothing more is decoded, and no input is kept referenced. */
  #decoder: HpackPrimitiveDecoder | null = hpack.decoder.create();
  readonly #table: HpackTable;

  constructor() {
    // `maxSize` caps in-band size updates (see HPACK_MAX_TABLE_BYTES); the live size starts at the
    // RFC default until the encoder announces another (RFC 7541 §4.2, §6.3).
    this.#table = hpack.table.create({ maxSize: HPACK_MAX_TABLE_BYTES });
    this.#table.updateSize(HPACK_DEFAULT_TABLE_BYTES);
  }

  get failed(): boolean {
    return this.#decoder === null;
  }

  /**
   * Decodes one complete header block into `into`. `block` is only read during the call. False on
   * a decoding error (bad index, truncated field, oversized table update): the table is then lost,
   * and `into` holds a part of the block that the caller must discard.
   */
  decode(block: Buffer, into: HeaderBlockFields): boolean {
    const d = this.#decoder;
    if (d === null) return false;
    if (block.length === 0) return true;
    const table = this.#table;
    d.push(block);
    try {
      while (!d.isEmpty()) {
        if (d.decodeBit() === 1) {
          // §6.1 indexed field
          const entry = table.lookup(d.decodeInt());
          into.add(entry.name, entry.value);
          continue;
        }
        const incremental = d.decodeBit() === 1; // §6.2.1 literal with incremental indexing
        if (!incremental) {
          if (d.decodeBit() === 1) {
            table.updateSize(d.decodeInt()); // §6.3 dynamic table size update
            continue;
          }
          d.decodeBit(); // §6.2.2 / §6.2.3: the never-indexed flag changes nothing for a reader
        }
        const index = d.decodeInt();
        let name: string;
        let nameSize: number;
        if (index === 0) {
          const raw = d.decodeStr();
          name = octets(raw);
          nameSize = raw.length;
        } else {
          const entry = table.lookup(index);
          name = entry.name;
          nameSize = entry.nameSize;
        }
        const rawValue = d.decodeStr();
        const value = octets(rawValue);
        if (incremental) table.add(name, value, nameSize, rawValue.length);
        into.add(name, value);
      }
    } catch {
      this.#decoder = null; // hpack.js asserts on malformed input
      return false;
    }
    return true;
  }
}
