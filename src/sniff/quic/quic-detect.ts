/**
 * Content detection for the dispatcher: is a UDP payload a QUIC Initial packet of a version
 * tapgate can open?
 */
import { FIXED_BIT, LONG_HEADER_BIT, MAX_CID_BYTES } from './quic-long-header.ts';
import { PacketKind, quicVersionParams } from './quic-version.ts';

/** First byte, 4-byte version, DCID length. */
const MIN_DETECT_BYTES = 6;

/** Long header with the fixed bit, version 1 or 2, the version's Initial type, a valid DCID length. */
export function looksLikeQuicInitial(data: Buffer): boolean {
  if (data.length < MIN_DETECT_BYTES) return false;
  const first = data[0]!;
  if ((first & (LONG_HEADER_BIT | FIXED_BIT)) !== (LONG_HEADER_BIT | FIXED_BIT)) return false;
  const params = quicVersionParams(data.readUInt32BE(1));
  if (params === null || params.kinds[(first >> 4) & 0x03] !== PacketKind.Initial) return false;
  return data[5]! <= MAX_CID_BYTES;
}
