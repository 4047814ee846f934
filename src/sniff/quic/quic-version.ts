/**
 * What differs between the QUIC versions whose Initial packets tapgate can open: the Initial salt,
 * the HKDF labels and the long-header packet type bits.
 */

export const QUIC_V1 = 0x00000001;
/** RFC 9369 §3.1. */
export const QUIC_V2 = 0x6b3343cf;

/** Long-header packet kinds, independent of how a version encodes them. */
export const PacketKind = { Initial: 0, ZeroRtt: 1, Handshake: 2, Retry: 3 } as const;
export type PacketKind = (typeof PacketKind)[keyof typeof PacketKind];

export interface QuicVersionParams {
  readonly version: number;
  /** initial_salt for HKDF-Extract over the client's Destination Connection ID. */
  readonly initialSalt: Buffer;
  readonly keyLabel: string;
  readonly ivLabel: string;
  readonly hpLabel: string;
  /** Packet kind for each value of the two type bits (first byte, bits 0x30). */
  readonly kinds: readonly [PacketKind, PacketKind, PacketKind, PacketKind];
}

const V1: QuicVersionParams = {
  version: QUIC_V1,
  // RFC 9001 §5.2.
  initialSalt: Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'),
  keyLabel: 'quic key',
  ivLabel: 'quic iv',
  hpLabel: 'quic hp',
  // RFC 9000 §17.2, Table 5.
  kinds: [PacketKind.Initial, PacketKind.ZeroRtt, PacketKind.Handshake, PacketKind.Retry],
};

const V2: QuicVersionParams = {
  version: QUIC_V2,
  // RFC 9369 §3.3.1.
  initialSalt: Buffer.from('0dede3def700a6db819381be6e269dcbf9bd2ed9', 'hex'),
  // RFC 9369 §3.3.2.
  keyLabel: 'quicv2 key',
  ivLabel: 'quicv2 iv',
  hpLabel: 'quicv2 hp',
  // RFC 9369 §3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
  kinds: [PacketKind.Retry, PacketKind.Initial, PacketKind.ZeroRtt, PacketKind.Handshake],
};

export function quicVersionParams(version: number): QuicVersionParams | null {
  if (version === QUIC_V1) return V1;
  if (version === QUIC_V2) return V2;
  return null;
}
