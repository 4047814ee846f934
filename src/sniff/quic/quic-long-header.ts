/**
 * QUIC long header (RFC 9000 §17.2) of one packet inside a datagram, up to where header protection
 * starts. Several long-header packets may be coalesced in one datagram (§12.2); each one's Length
 * field says where the next begins.
 */
import { ByteReader } from '../tls/byte-reader.ts';
import { PacketKind, quicVersionParams, type QuicVersionParams } from './quic-version.ts';

/** Header Form bit: 1 = long header. */
export const LONG_HEADER_BIT = 0x80;
/** Fixed Bit: 1 in every v1/v2 packet except Version Negotiation. */
export const FIXED_BIT = 0x40;
/** Connection IDs are at most 20 bytes in v1 and v2 (RFC 9000 §17.2). */
export const MAX_CID_BYTES = 20;

export interface LongHeader {
  params: QuicVersionParams;
  kind: PacketKind;
  /** Offsets in the datagram: first byte, Packet Number field, end of the packet. */
  start: number;
  pnOffset: number;
  end: number;
  /** Views into the datagram. */
  dcid: Buffer;
  scid: Buffer;
}

/**
 * Reads the long header starting at `start`. Returns the header, or a snake_case code:
 * `unknown_version` (another version, or Version Negotiation: nothing here can be read), or the
 * code of a malformed header.
 */
export function parseLongHeader(datagram: Buffer, start: number): LongHeader | string {
  const r = new ByteReader(datagram, start);
  const first = r.u8();
  const version = r.u32();
  if (r.truncated()) return 'packet_truncated';
  const params = quicVersionParams(version);
  if (params === null) return 'unknown_version';
  if ((first & FIXED_BIT) === 0) return 'fixed_bit_clear';
  const dcidLength = r.u8();
  if (dcidLength > MAX_CID_BYTES) return 'bad_connection_id';
  const dcid = r.bytes(dcidLength);
  const scidLength = r.u8();
  if (scidLength > MAX_CID_BYTES) return 'bad_connection_id';
  const scid = r.bytes(scidLength);
  const kind = params.kinds[(first >> 4) & 0x03]!;
  if (kind === PacketKind.Retry) {
    // A Retry has no Length field: it runs to the end of the datagram (§17.2.5).
    if (r.truncated()) return 'packet_truncated';
    return { params, kind, start, pnOffset: r.offset, end: datagram.length, dcid, scid };
  }
  if (kind === PacketKind.Initial) r.skip(r.varint()); // Token Length, Token (§17.2.2)
  const length = r.varint();
  if (r.truncated() || length > r.remaining) return 'packet_truncated';
  const pnOffset = r.offset;
  return { params, kind, start, pnOffset, end: pnOffset + length, dcid, scid };
}
