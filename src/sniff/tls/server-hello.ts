/**
 * ServerHello decoder (RFC 8446 §4.1.3, RFC 5246 §7.4.1.3), shared by the TLS and QUIC sniffers.
 * Also recognises a HelloRetryRequest, which is a ServerHello with a fixed random.
 */
import { ByteReader } from './byte-reader.ts';
import { MAX_EXTENSIONS, MAX_SESSION_ID_BYTES } from './client-hello.ts';
import { ExtensionType, HELLO_RETRY_REQUEST_RANDOM } from './tls-protocol.ts';

export interface ServerHello {
  legacyVersion: number;
  /** supported_versions' selected_version (RFC 8446 §4.2.1), else legacy_version. */
  selectedVersion: number;
  cipherSuite: number;
  compressionMethod: number;
  /** Extension types in wire order. */
  extensions: number[];
  /** The protocol the server picked (RFC 7301 §3.1); '' when none. */
  alpn: string;
  helloRetryRequest: boolean;
}

export interface ServerHelloResult {
  hello: ServerHello;
  error: string | null;
}

export function parseServerHello(body: Buffer): ServerHelloResult {
  const hello: ServerHello = {
    legacyVersion: 0,
    selectedVersion: 0,
    cipherSuite: 0,
    compressionMethod: 0,
    extensions: [],
    alpn: '',
    helloRetryRequest: false,
  };
  const r = new ByteReader(body);
  hello.legacyVersion = r.u16();
  hello.selectedVersion = hello.legacyVersion;
  hello.helloRetryRequest = r.bytes(32).equals(HELLO_RETRY_REQUEST_RANDOM);
  const sessionId = r.vec8();
  hello.cipherSuite = r.u16();
  hello.compressionMethod = r.u8();
  if (r.truncated()) return { hello, error: 'server_hello_truncated' };
  if (sessionId.remaining > MAX_SESSION_ID_BYTES) return { hello, error: 'bad_session_id' };
  if (r.remaining === 0) return { hello, error: null };

  const block = r.vec16();
  if (r.truncated()) return { hello, error: 'extensions_truncated' };
  let error: string | null = null;
  while (block.remaining > 0) {
    if (hello.extensions.length === MAX_EXTENSIONS) return { hello, error: 'too_many_extensions' };
    const type = block.u16();
    const data = block.vec16();
    if (block.truncated()) return { hello, error: error ?? 'extensions_truncated' };
    hello.extensions.push(type);
    if (type === ExtensionType.SupportedVersions) {
      // In a ServerHello the extension holds the one selected version.
      const v = data.u16();
      if (data.truncated() || data.remaining > 0) error ??= 'bad_supported_versions';
      else hello.selectedVersion = v;
    } else if (type === ExtensionType.Alpn) {
      // The server answers with a list of exactly one name.
      const list = data.vec16();
      const name = list.vec8();
      const bad = data.truncated() || list.truncated() || data.remaining > 0 || list.remaining > 0;
      if (bad || name.remaining === 0) {
        error ??= 'bad_alpn';
      } else hello.alpn = name.bytes(name.remaining).toString('utf8');
    }
  }
  if (error === null && r.remaining > 0) error = 'trailing_bytes';
  return { hello, error };
}
