/**
 * ClientHello decoder (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2), shared by the TLS and QUIC sniffers.
 *
 * Input is one complete handshake message body (after the 4-byte handshake header). Everything kept
 * is decoded or copied, so the body may be borrowed. A malformed or cut-short message still yields
 * what was read before the fault, plus the first error code.
 */
import { ByteReader } from './byte-reader.ts';
import { ExtensionType } from './tls-protocol.ts';

/** Most extensions decoded from one hello; real clients send fewer than 30. */
export const MAX_EXTENSIONS = 256;
/** Most entries kept per list (cipher suites, groups, signature algorithms, …). */
export const MAX_LIST_ITEMS = 1024;
/** Most ALPN protocol names kept. */
export const MAX_ALPN_PROTOCOLS = 32;
/** Longest SNI host name accepted (a DNS name is at most 253 characters, RFC 1035 §2.3.4). */
export const MAX_SERVER_NAME_BYTES = 255;
/** legacy_session_id<0..32> (RFC 8446 §4.1.2). */
export const MAX_SESSION_ID_BYTES = 32;
/** Bytes of legacy_version + random. */
const VERSION_AND_RANDOM_BYTES = 2 + 32;
/** server_name NameType host_name (RFC 6066 §3). */
const NAME_TYPE_HOST_NAME = 0;

export interface ClientHello {
  /** legacy_version. */
  legacyVersion: number;
  /** As sent, GREASE included. */
  cipherSuites: number[];
  compressionMethods: number[];
  /** Extension types in wire order, GREASE included. */
  extensions: number[];
  /** First host_name of server_name; '' when absent. */
  serverName: string;
  /** ALPN protocol names (UTF-8, U+FFFD for invalid bytes). */
  alpn: string[];
  /** A copy of the first ALPN name's raw bytes (JA4 looks at them); null when none. */
  alpnFirst: Buffer | null;
  supportedVersions: number[];
  supportedGroups: number[];
  ecPointFormats: number[];
  signatureAlgorithms: number[];
  /** Groups of the key_share entries (RFC 8446 §4.2.8). */
  keyShareGroups: number[];
}

export interface ClientHelloResult {
  /** What was decoded, also when `error` is set. */
  hello: ClientHello;
  /** First fault as a stable snake_case code; null when the message was well formed. */
  error: string | null;
}

export function parseClientHello(body: Buffer): ClientHelloResult {
  const hello: ClientHello = {
    legacyVersion: 0,
    cipherSuites: [],
    compressionMethods: [],
    extensions: [],
    serverName: '',
    alpn: [],
    alpnFirst: null,
    supportedVersions: [],
    supportedGroups: [],
    ecPointFormats: [],
    signatureAlgorithms: [],
    keyShareGroups: [],
  };
  const r = new ByteReader(body);
  if (r.remaining < VERSION_AND_RANDOM_BYTES) return { hello, error: 'client_hello_truncated' };
  hello.legacyVersion = r.u16();
  r.skip(32);

  const sessionId = r.vec8();
  if (r.truncated()) return { hello, error: 'client_hello_truncated' };
  if (sessionId.remaining > MAX_SESSION_ID_BYTES) return { hello, error: 'bad_session_id' };

  // cipher_suites<2..2^16-2>: an even, non-zero byte count.
  const suites = r.vec16();
  if (r.truncated()) return { hello, error: 'client_hello_truncated' };
  const suitesError = readU16List(suites, hello.cipherSuites, 'bad_cipher_suites');
  if (suitesError !== null) return { hello, error: suitesError };

  // legacy_compression_methods<1..2^8-1>.
  const compression = r.vec8();
  if (r.truncated()) return { hello, error: 'client_hello_truncated' };
  if (compression.remaining === 0) return { hello, error: 'bad_compression_methods' };
  while (compression.remaining > 0) hello.compressionMethods.push(compression.u8());

  // RFC 5246 §7.4.1.2: a TLS ≤ 1.2 hello may end here, without an extensions block.
  if (r.remaining === 0) return { hello, error: null };
  const block = r.vec16();
  if (r.truncated()) return { hello, error: 'extensions_truncated' };
  let error = readExtensions(block, hello);
  if (error === null && r.remaining > 0) error = 'trailing_bytes';
  return { hello, error };
}

function readExtensions(block: ByteReader, hello: ClientHello): string | null {
  let error: string | null = null;
  while (block.remaining > 0) {
    if (hello.extensions.length === MAX_EXTENSIONS) return error ?? 'too_many_extensions';
    const type = block.u16();
    const data = block.vec16();
    if (block.truncated()) return error ?? 'extensions_truncated';
    hello.extensions.push(type);
    // A fault inside one extension is bounded by its own length: note it, go on with the next.
    const extError = readExtension(type, data, hello);
    error ??= extError;
  }
  return error;
}

function readExtension(type: number, data: ByteReader, hello: ClientHello): string | null {
  switch (type) {
    case ExtensionType.ServerName:
      return readServerName(data, hello);
    case ExtensionType.Alpn:
      return readAlpn(data, hello);
    case ExtensionType.SupportedVersions: {
      // ProtocolVersion versions<2..254> (RFC 8446 §4.2.1).
      const list = data.vec8();
      if (data.truncated() || data.remaining > 0) return 'bad_supported_versions';
      return readU16List(list, hello.supportedVersions, 'bad_supported_versions');
    }
    case ExtensionType.SupportedGroups:
      return readU16Vector(data, hello.supportedGroups, 'bad_supported_groups');
    case ExtensionType.SignatureAlgorithms:
      return readU16Vector(data, hello.signatureAlgorithms, 'bad_signature_algorithms');
    case ExtensionType.EcPointFormats: {
      // ECPointFormat ec_point_format_list<1..2^8-1> (RFC 8422 §5.1.2).
      const list = data.vec8();
      if (data.truncated() || data.remaining > 0 || list.remaining === 0) {
        return 'bad_ec_point_formats';
      }
      while (list.remaining > 0 && hello.ecPointFormats.length < MAX_LIST_ITEMS) {
        hello.ecPointFormats.push(list.u8());
      }
      return null;
    }
    case ExtensionType.KeyShare:
      return readKeyShare(data, hello);
    default:
      return null;
  }
}

/** ServerNameList (RFC 6066 §3): the first host_name is kept. */
function readServerName(data: ByteReader, hello: ClientHello): string | null {
  const list = data.vec16();
  // An empty list is not allowed: server_name_list<1..2^16-1>.
  if (data.truncated() || data.remaining > 0 || list.remaining === 0) return 'bad_server_name';
  while (list.remaining > 0) {
    const nameType = list.u8();
    const name = list.vec16();
    if (list.truncated()) return 'bad_server_name';
    if (nameType !== NAME_TYPE_HOST_NAME || hello.serverName !== '') continue;
    // HostName<1..2^16-1>; longer than any DNS name is refused rather than kept.
    if (name.remaining === 0 || name.remaining > MAX_SERVER_NAME_BYTES) return 'bad_server_name';
    hello.serverName = name.bytes(name.remaining).toString('utf8');
  }
  return null;
}

/** ProtocolNameList (RFC 7301 §3.1): ProtocolName protocol_name_list<2..2^16-1>, names <1..255>. */
function readAlpn(data: ByteReader, hello: ClientHello): string | null {
  const list = data.vec16();
  if (data.truncated() || data.remaining > 0 || list.remaining === 0) return 'bad_alpn';
  while (list.remaining > 0) {
    const name = list.vec8();
    if (list.truncated() || name.remaining === 0) return 'bad_alpn';
    if (hello.alpn.length === MAX_ALPN_PROTOCOLS) continue;
    const raw = name.bytes(name.remaining);
    if (hello.alpnFirst === null) hello.alpnFirst = Buffer.from(raw);
    hello.alpn.push(raw.toString('utf8'));
  }
  return null;
}

/** KeyShareClientHello (RFC 8446 §4.2.8): KeyShareEntry client_shares<0..2^16-1>. */
function readKeyShare(data: ByteReader, hello: ClientHello): string | null {
  const shares = data.vec16();
  if (data.truncated() || data.remaining > 0) return 'bad_key_share';
  while (shares.remaining > 0) {
    const group = shares.u16();
    shares.vec16();
    if (shares.truncated()) return 'bad_key_share';
    if (hello.keyShareGroups.length < MAX_LIST_ITEMS) hello.keyShareGroups.push(group);
  }
  return null;
}

/** An extension whose whole body is one `uint16 list<2..2^16-2>`. */
function readU16Vector(data: ByteReader, out: number[], code: string): string | null {
  const list = data.vec16();
  if (data.truncated() || data.remaining > 0) return code;
  return readU16List(list, out, code);
}

/** The contents of a non-empty vector of uint16 values (GREASE kept; callers filter). */
function readU16List(list: ByteReader, out: number[], code: string): string | null {
  if (list.remaining === 0 || list.remaining % 2 !== 0) return code;
  while (list.remaining > 0) {
    if (out.length === MAX_LIST_ITEMS) return 'list_too_long';
    out.push(list.u16());
  }
  return null;
}
