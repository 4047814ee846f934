/**
 * One direction's HPACK decoding context (RFC 7541) on top of hpack.js: header blocks must be fed
 * in the order they were sent, every one of them, or the dynamic table drifts. After a decoding
 * error the table is unknown for good and the decoder refuses further blocks.
 */
import hpack, { type Decompressor } from 'hpack.js';
import type { HeaderBlockFields } from './header-fields.ts';
import { HPACK_DEFAULT_TABLE_BYTES, HPACK_MAX_TABLE_BYTES } from './http2-limits.ts';

export class HpackDecoder {
  readonly #decompressor: Decompressor;
  #failed = false;

  constructor() {
    // `maxSize` caps in-band size updates (see HPACK_MAX_TABLE_BYTES); the live size starts at the
    // RFC default until the encoder announces another (RFC 7541 §4.2, §6.3).
    this.#decompressor = hpack.decompressor.create({ table: { maxSize: HPACK_MAX_TABLE_BYTES } });
    this.#decompressor.updateTableSize(HPACK_DEFAULT_TABLE_BYTES);
    // hpack.js reports decoding errors as 'error' events (a throw when nobody listens).
    this.#decompressor.on('error', () => {
      this.#failed = true;
    });
  }

  get failed(): boolean {
    return this.#failed;
  }

  /**
   * Decodes one complete header block into `into`. `block` is only read during the call. False on
   * a decoding error (bad index, truncated field, oversized table update): the table is then lost.
   */
  decode(block: Buffer, into: HeaderBlockFields): boolean {
    if (this.#failed) return false;
    if (block.length === 0) return true;
    const d = this.#decompressor;
    try {
      d.write(block);
      d.execute();
    } catch {
      this.#failed = true;
    }
    // Drain what was decoded (also after an error, so nothing stays referenced).
    for (let field = d.read(); field !== null; field = d.read()) {
      if (!this.#failed) into.add(field.name, field.value);
    }
    return !this.#failed;
  }
}
