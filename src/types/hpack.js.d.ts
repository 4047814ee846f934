/**
 * The part of hpack.js 2.1.6 tapgate uses: the primitive HPACK decoder and the header table
 * (RFC 7541), driven by src/sniff/http2/hpack-decoder.ts. The package ships no types. See
 * ../../shared/reference/stack.md §4 for the table's size options.
 */
declare module 'hpack.js' {
  /** A string literal's octets: a Buffer when sent raw, the decoded octets when Huffman-coded. */
  export type HpackOctets = Buffer | number[];

  /**
   * Reads representations from the pushed bytes. Every read asserts (throws) when the bytes run
   * out or are malformed.
   */
  export interface HpackPrimitiveDecoder {
    push(chunk: Buffer): void;
    isEmpty(): boolean;
    /** The next bit, MSB first: 0 or 1. */
    decodeBit(): number;
    /** An integer with the prefix left in the current octet (RFC 7541 §5.1); ends octet-aligned. */
    decodeInt(): number;
    /** A string literal (§5.2): Huffman flag, length, octets. */
    decodeStr(): HpackOctets;
  }

  /** Entries hold wire octets one per char (latin1), not UTF-8. */
  export interface HpackTableEntry {
    name: string;
    value: string;
    nameSize: number;
  }

  export interface HpackTableOptions {
    /**
     * The protocol maximum for in-band size updates and the initial table size. The README's
     * `size` key is ignored by the table (nothing would ever be evicted).
     */
    maxSize: number;
  }

  /** Static and dynamic table, one index space (§2.3.3). */
  export interface HpackTable {
    /** Throws for index 0 or past the end. */
    lookup(index: number): HpackTableEntry;
    /** Inserts at the front of the dynamic table and evicts down to the live size (§4.4). */
    add(name: string, value: string, nameSize: number, valueSize: number): void;
    /** Sets the live size (evicting); throws above the protocol maximum. */
    updateSize(size: number): void;
  }

  interface Hpack {
    decoder: { create(): HpackPrimitiveDecoder };
    table: { create(options: HpackTableOptions): HpackTable };
  }

  const hpack: Hpack;
  export default hpack;
}
