/**
 * The part of hpack.js 2.1.6 tapgate uses: the HPACK decompressor (RFC 7541). The package ships no
 * types. See ../../shared/reference/stack.md §4 for how it must be created and fed.
 */
declare module 'hpack.js' {
  import type { Duplex } from 'node:stream';

  /** One decoded header field. Strings hold the wire octets one per char (latin1), not UTF-8. */
  export interface HeaderField {
    name: string;
    value: string;
    /** Sent as a "never indexed" literal (RFC 7541 §6.2.3). */
    neverIndex: boolean;
  }

  export interface DecompressorOptions {
    /**
     * `maxSize` is the protocol maximum for in-band size updates and the initial table size. The
     * README's `size` key is ignored by the table (nothing would ever be evicted).
     */
    table: { maxSize: number };
  }

  /**
   * A readable-stream v2 Duplex: `write()` header block bytes, `execute()` decodes them
   * synchronously, `read()` hands out the fields. Decoding errors are emitted as `'error'` (which
   * throws when nobody listens).
   */
  export interface Decompressor extends Duplex {
    execute(callback?: (err: Error | null) => void): void;
    read(): HeaderField | null;
    /** Sets the live dynamic table size; throws above the protocol maximum. */
    updateTableSize(size: number): void;
  }

  interface Hpack {
    decompressor: { create(options: DecompressorOptions): Decompressor };
  }

  const hpack: Hpack;
  export default hpack;
}
