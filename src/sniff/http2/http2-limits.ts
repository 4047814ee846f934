/**
 * Bounds on what one HTTP/2 connection may make the sniffer hold. Every one that is hit counts a
 * parse error (`proto` `http2`) with the code named beside it.
 */

/** A header block (HEADERS/PUSH_PROMISE + CONTINUATIONs) beyond this → `header_block_too_large`. */
export const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

/**
 * Decoded size of one header block, counted as RFC 9113 §6.5.2 counts SETTINGS_MAX_HEADER_LIST_SIZE
 * (name + value + 32 per field). HPACK references let a small block expand; fields past this are
 * decoded (the table must stay in step) but not kept → `header_list_too_large`.
 */
export const MAX_HEADER_LIST_BYTES = 1024 * 1024;

/** Open streams per connection; the oldest is emitted early beyond this → `stream_table_full`. */
export const MAX_OPEN_STREAMS = 1000;

/**
 * Decoded header bytes and captured body bytes held by a connection's open streams together; the
 * oldest streams are emitted early beyond this → `retained_bytes_limit`.
 */
export const MAX_RETAINED_BYTES = 64 * 1024 * 1024;

/** SETTINGS_HEADER_TABLE_SIZE before any SETTINGS (RFC 9113 §6.5.2). */
export const HPACK_DEFAULT_TABLE_BYTES = 4096;

/**
 * The largest dynamic table an encoder may switch to with an in-band size update (RFC 7541 §6.3).
 * hpack.js would accept any size up to its protocol maximum and keep that many bytes of entries;
 * browsers announce 64 KiB, so 1 MiB leaves room while bounding memory. An update above it is a
 * decoding error (`hpack_error`).
 */
export const HPACK_MAX_TABLE_BYTES = 1024 * 1024;
