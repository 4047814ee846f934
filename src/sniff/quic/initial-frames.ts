/**
 * Walks the frames of a decrypted Initial packet (RFC 9000 §19) and feeds CRYPTO data to the
 * direction's CryptoStream. Only the frame types an Initial packet may carry are accepted
 * (§12.4, Table 3): PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE (transport).
 */
import { ByteReader } from '../tls/byte-reader.ts';
import type { CryptoStream } from './crypto-stream.ts';

const FrameType = {
  Padding: 0x00,
  Ping: 0x01,
  Ack: 0x02,
  AckEcn: 0x03,
  Crypto: 0x06,
  ConnectionClose: 0x1c,
} as const;

/** Returns null, or the code of the first fault (the rest of the packet is skipped). */
export function readInitialFrames(payload: Buffer, crypto: CryptoStream): string | null {
  const r = new ByteReader(payload);
  while (r.remaining > 0) {
    const type = r.varint();
    switch (type) {
      case FrameType.Padding:
      case FrameType.Ping:
        break;
      case FrameType.Ack:
      case FrameType.AckEcn: {
        // Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range (§19.3).
        r.varint();
        r.varint();
        const ranges = r.varint();
        r.varint();
        // Gap + ACK Range Length per range; a false count runs out of bytes and stops.
        for (let i = 0; i < ranges && !r.truncated(); i++) {
          r.varint();
          r.varint();
        }
        if (type === FrameType.AckEcn) {
          r.varint(); // ECT0, ECT1, ECN-CE counts (§19.3.2)
          r.varint();
          r.varint();
        }
        break;
      }
      case FrameType.Crypto: {
        const offset = r.varint();
        const data = r.bytes(r.varint());
        if (r.truncated()) return 'frame_truncated';
        const error = crypto.insert(offset, data);
        if (error !== null) return error;
        break;
      }
      case FrameType.ConnectionClose:
        // Error Code, Frame Type, Reason Phrase (§19.19).
        r.varint();
        r.varint();
        r.skip(r.varint());
        break;
      default:
        return 'bad_frame_type';
    }
    if (r.truncated()) return 'frame_truncated';
  }
  return null;
}
