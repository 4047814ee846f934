/**
 * HTTP/2 wire constants (RFC 9113 §3.4, §4.1, §6, §7).
 */

/** The client connection preface (RFC 9113 §3.4): `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`. */
export const HTTP2_PREFACE: Buffer = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Frame header: 24-bit length, 8-bit type, 8-bit flags, reserved bit + 31-bit stream id (§4.1). */
export const FRAME_HEADER_BYTES = 9;

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  Data: 0x0,
  Headers: 0x1,
  Priority: 0x2,
  RstStream: 0x3,
  Settings: 0x4,
  PushPromise: 0x5,
  Ping: 0x6,
  Goaway: 0x7,
  WindowUpdate: 0x8,
  Continuation: 0x9,
} as const;

/** Flag bits; their meaning depends on the frame type (RFC 9113 §6). */
export const Flag = {
  /** DATA, HEADERS. */
  EndStream: 0x1,
  /** SETTINGS, PING. */
  Ack: 0x1,
  /** HEADERS, PUSH_PROMISE, CONTINUATION. */
  EndHeaders: 0x4,
  /** DATA, HEADERS, PUSH_PROMISE. */
  Padded: 0x8,
  /** HEADERS. */
  Priority: 0x20,
} as const;

/** Mask for the 31-bit stream identifiers (the top bit is reserved, §4.1). */
export const STREAM_ID_MASK = 0x7fffffff;

/** Fixed payload parts, in bytes. */
export const PAD_LENGTH_BYTES = 1;
/** HEADERS PRIORITY fields: exclusive bit + stream dependency (4) and weight (1), §6.2. */
export const PRIORITY_FIELDS_BYTES = 5;
export const PROMISED_STREAM_ID_BYTES = 4;
export const RST_STREAM_BYTES = 4;
/** GOAWAY before its debug data: last stream id (4) and error code (4), §6.8. */
export const GOAWAY_FIXED_BYTES = 8;
export const PING_BYTES = 8;
export const WINDOW_UPDATE_BYTES = 4;
/** Each SETTINGS parameter: 16-bit id, 32-bit value (§6.5.1). */
export const SETTINGS_ENTRY_BYTES = 6;

/** Error code names (RFC 9113 §7), indexed by code. */
const ERROR_CODE_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
] as const;

export const NO_ERROR = 0;

/** `CANCEL`, or `unknown error code 0x2a` (Go's x/net/http2 wording) for codes §7 does not name. */
export function errorCodeName(code: number): string {
  return ERROR_CODE_NAMES[code] ?? `unknown error code 0x${code.toString(16)}`;
}
