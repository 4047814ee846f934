/**
 * Bounds on what the HTTP/1 sniffer buffers or counts per connection. RFC 9112 sets no limits
 * (§2.3 leaves them to the recipient); these follow common servers (nginx, Go's net/http).
 */

/** Start line plus header section of one message, and the trailer section of a chunked one. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Header field lines of one message (and trailer lines of a chunked one). */
export const MAX_HEADER_LINES = 256;
/** One chunk-size line, extensions included (RFC 9112 §7.1.1 puts no bound on extensions). */
export const MAX_CHUNK_LINE_BYTES = 1024;
/** Requests waiting for their responses (pipelining); beyond, the oldest is given up. */
export const MAX_PENDING_REQUESTS = 64;
/**
 * Client bytes held after an `Upgrade` or `CONNECT` request until the server's answer says how to
 * read them (HTTP/1, WebSocket, HTTP/2, tunnel).
 */
export const MAX_HELD_BYTES = 256 * 1024;
