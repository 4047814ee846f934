/**
 * Initial secrets and packet protection keys (RFC 9001 §5.2, RFC 9369 §3.3), derived from the
 * client's first Destination Connection ID with HKDF-SHA256 (RFC 5869) and TLS 1.3's
 * HKDF-Expand-Label (RFC 8446 §7.1).
 */
import { createHmac } from 'node:crypto';
import type { QuicVersionParams } from './quic-version.ts';

const HASH = 'sha256';
const HASH_BYTES = 32;
/** AEAD_AES_128_GCM key, nonce and header protection key sizes (RFC 9001 §5). */
const KEY_BYTES = 16;
const IV_BYTES = 12;
const HP_BYTES = 16;

export interface InitialPacketKeys {
  readonly key: Buffer;
  readonly iv: Buffer;
  readonly hp: Buffer;
}

export interface InitialSecrets {
  readonly initialSecret: Buffer;
  readonly clientSecret: Buffer;
  readonly serverSecret: Buffer;
  readonly client: InitialPacketKeys;
  readonly server: InitialPacketKeys;
}

export function deriveInitialSecrets(params: QuicVersionParams, dcid: Buffer): InitialSecrets {
  // initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id)
  const initialSecret = createHmac(HASH, params.initialSalt).update(dcid).digest();
  const clientSecret = hkdfExpandLabel(initialSecret, 'client in', HASH_BYTES);
  const serverSecret = hkdfExpandLabel(initialSecret, 'server in', HASH_BYTES);
  return {
    initialSecret,
    clientSecret,
    serverSecret,
    client: packetKeys(params, clientSecret),
    server: packetKeys(params, serverSecret),
  };
}

function packetKeys(params: QuicVersionParams, secret: Buffer): InitialPacketKeys {
  return {
    key: hkdfExpandLabel(secret, params.keyLabel, KEY_BYTES),
    iv: hkdfExpandLabel(secret, params.ivLabel, IV_BYTES),
    hp: hkdfExpandLabel(secret, params.hpLabel, HP_BYTES),
  };
}

/**
 * HKDF-Expand-Label(secret, label, "", length): HKDF-Expand with the HkdfLabel structure
 * `uint16 length, opaque label<7..255> = "tls13 " + label, opaque context<0..255> = ""`.
 */
export function hkdfExpandLabel(secret: Buffer, label: string, length: number): Buffer {
  const fullLabel = Buffer.from('tls13 ' + label, 'latin1');
  const info = Buffer.alloc(2 + 1 + fullLabel.length + 1);
  info.writeUInt16BE(length, 0);
  info[2] = fullLabel.length;
  fullLabel.copy(info, 3);
  // The trailing byte stays 0: an empty context.
  return hkdfExpand(secret, info, length);
}

/** HKDF-Expand (RFC 5869 §2.3): T(i) = HMAC(PRK, T(i-1) | info | i). */
function hkdfExpand(prk: Buffer, info: Buffer, length: number): Buffer {
  const out = Buffer.alloc(length);
  let previous = Buffer.alloc(0);
  for (let i = 1, filled = 0; filled < length; i++) {
    previous = createHmac(HASH, prk).update(previous).update(info).update(Buffer.of(i)).digest();
    filled += previous.copy(out, filled);
  }
  return out;
}
