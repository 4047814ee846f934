/**
 * QuicInitialSniffer: the RFC 9001 (v1) and RFC 9369 (v2) Appendix A sample packets, a real
 * ClientHello (taken from a corpus TLS capture) split over two Initial packets by this file's own
 * packet encoder, Retry, coalesced packets, and hostile datagrams (corrupted tags, oversized CRYPTO
 * offsets, foreign frames, non-QUIC traffic): counted, never thrown.
 */
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { describe, test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { looksLikeQuicInitial } from '../../src/sniff/quic/quic-detect.ts';
import {
  deriveInitialSecrets,
  type InitialPacketKeys,
} from '../../src/sniff/quic/quic-initial-keys.ts';
import { decodePacketNumber, InitialOpener } from '../../src/sniff/quic/quic-initial-opener.ts';
import {
  MAX_INITIAL_PACKETS,
  QuicInitialSniffer,
} from '../../src/sniff/quic/quic-initial-sniffer.ts';
import { parseLongHeader, type LongHeader } from '../../src/sniff/quic/quic-long-header.ts';
import { QUIC_V1, QUIC_V2, quicVersionParams } from '../../src/sniff/quic/quic-version.ts';
import { rng } from '../helpers/random.ts';
import { feedDatagrams, recordingContext } from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followTcpStream,
  udpDatagrams,
} from '../helpers/tshark-follow.ts';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/** The client's Destination Connection ID of both appendices. */
const RFC_DCID = hex('8394c8f03e515708');

/** RFC 9001 §A.2 / §A.3 / §A.4: protected client Initial, server Initial, Retry. */
const V1_CLIENT = hex(`
  c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11
  d242b123dc9bd8bab936b47d92ec356c0bab7df5976d27cd449f63300099f399
  1c260ec4c60d17b31f8429157bb35a1282a643a8d2262cad67500cadb8e7378c
  8eb7539ec4d4905fed1bee1fc8aafba17c750e2c7ace01e6005f80fcb7df6212
  30c83711b39343fa028cea7f7fb5ff89eac2308249a02252155e2347b63d58c5
  457afd84d05dfffdb20392844ae812154682e9cf012f9021a6f0be17ddd0c208
  4dce25ff9b06cde535d0f920a2db1bf362c23e596d11a4f5a6cf3948838a3aec
  4e15daf8500a6ef69ec4e3feb6b1d98e610ac8b7ec3faf6ad760b7bad1db4ba3
  485e8a94dc250ae3fdb41ed15fb6a8e5eba0fc3dd60bc8e30c5c4287e53805db
  059ae0648db2f64264ed5e39be2e20d82df566da8dd5998ccabdae053060ae6c
  7b4378e846d29f37ed7b4ea9ec5d82e7961b7f25a9323851f681d582363aa5f8
  9937f5a67258bf63ad6f1a0b1d96dbd4faddfcefc5266ba6611722395c906556
  be52afe3f565636ad1b17d508b73d8743eeb524be22b3dcbc2c7468d54119c74
  68449a13d8e3b95811a198f3491de3e7fe942b330407abf82a4ed7c1b311663a
  c69890f4157015853d91e923037c227a33cdd5ec281ca3f79c44546b9d90ca00
  f064c99e3dd97911d39fe9c5d0b23a229a234cb36186c4819e8b9c5927726632
  291d6a418211cc2962e20fe47feb3edf330f2c603a9d48c0fcb5699dbfe58964
  25c5bac4aee82e57a85aaf4e2513e4f05796b07ba2ee47d80506f8d2c25e50fd
  14de71e6c418559302f939b0e1abd576f279c4b2e0feb85c1f28ff18f58891ff
  ef132eef2fa09346aee33c28eb130ff28f5b766953334113211996d20011a198
  e3fc433f9f2541010ae17c1bf202580f6047472fb36857fe843b19f5984009dd
  c324044e847a4f4a0ab34f719595de37252d6235365e9b84392b061085349d73
  203a4a13e96f5432ec0fd4a1ee65accdd5e3904df54c1da510b0ff20dcc0c77f
  cb2c0e0eb605cb0504db87632cf3d8b4dae6e705769d1de354270123cb11450e
  fc60ac47683d7b8d0f811365565fd98c4c8eb936bcab8d069fc33bd801b03ade
  a2e1fbc5aa463d08ca19896d2bf59a071b851e6c239052172f296bfb5e724047
  90a2181014f3b94a4e97d117b438130368cc39dbb2d198065ae3986547926cd2
  162f40a29f0c3c8745c0f50fba3852e566d44575c29d39a03f0cda721984b6f4
  40591f355e12d439ff150aab7613499dbd49adabc8676eef023b15b65bfc5ca0
  6948109f23f350db82123535eb8a7433bdabcb909271a6ecbcb58b936a88cd4e
  8f2e6ff5800175f113253d8fa9ca8885c2f552e657dc603f252e1a8e308f76f0
  be79e2fb8f5d5fbbe2e30ecadd220723c8c0aea8078cdfcb3868263ff8f09400
  54da48781893a7e49ad5aff4af300cd804a6b6279ab3ff3afb64491c85194aab
  760d58a606654f9f4400e8b38591356fbf6425aca26dc85244259ff2b19c41b9
  f96f3ca9ec1dde434da7d2d392b905ddf3d1f9af93d1af5950bd493f5aa731b4
  056df31bd267b6b90a079831aaf579be0a39013137aac6d404f518cfd4684064
  7e78bfe706ca4cf5e9c5453e9f7cfd2b8b4c8d169a44e55c88d4a9a7f9474241
  e221af44860018ab0856972e194cd934`);
const V1_SERVER = hex(`
  cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a
  5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3
  dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84
  022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4
  2158407dd074ee`);
const V1_RETRY = hex(`
  ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f
  0f2496ba`);

/** RFC 9369 §A.2 / §A.3 / §A.4. */
const V2_CLIENT = hex(`
  d76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485
  dd04de806071bf03dceebfa162e75d6c96058bdbfb127cdfcbf903388e99ad04
  9f9a3dd4425ae4d0992cfff18ecf0fdb5a842d09747052f17ac2053d21f57c5d
  250f2c4f0e0202b70785b7946e992e58a59ac52dea6774d4f03b55545243cf1a
  12834e3f249a78d395e0d18f4d766004f1a2674802a747eaa901c3f10cda5500
  cb9122faa9f1df66c392079a1b40f0de1c6054196a11cbea40afb6ef5253cd68
  18f6625efce3b6def6ba7e4b37a40f7732e093daa7d52190935b8da58976ff33
  12ae50b187c1433c0f028edcc4c2838b6a9bfc226ca4b4530e7a4ccee1bfa2a3
  d396ae5a3fb512384b2fdd851f784a65e03f2c4fbe11a53c7777c023462239dd
  6f7521a3f6c7d5dd3ec9b3f233773d4b46d23cc375eb198c63301c21801f6520
  bcfb7966fc49b393f0061d974a2706df8c4a9449f11d7f3d2dcbb90c6b877045
  636e7c0c0fe4eb0f697545460c806910d2c355f1d253bc9d2452aaa549e27a1f
  ac7cf4ed77f322e8fa894b6a83810a34b361901751a6f5eb65a0326e07de7c12
  16ccce2d0193f958bb3850a833f7ae432b65bc5a53975c155aa4bcb4f7b2c4e5
  4df16efaf6ddea94e2c50b4cd1dfe06017e0e9d02900cffe1935e0491d77ffb4
  fdf85290fdd893d577b1131a610ef6a5c32b2ee0293617a37cbb08b847741c3b
  8017c25ca9052ca1079d8b78aebd47876d330a30f6a8c6d61dd1ab5589329de7
  14d19d61370f8149748c72f132f0fc99f34d766c6938597040d8f9e2bb522ff9
  9c63a344d6a2ae8aa8e51b7b90a4a806105fcbca31506c446151adfeceb51b91
  abfe43960977c87471cf9ad4074d30e10d6a7f03c63bd5d4317f68ff325ba3bd
  80bf4dc8b52a0ba031758022eb025cdd770b44d6d6cf0670f4e990b22347a7db
  848265e3e5eb72dfe8299ad7481a408322cac55786e52f633b2fb6b614eaed18
  d703dd84045a274ae8bfa73379661388d6991fe39b0d93debb41700b41f90a15
  c4d526250235ddcd6776fc77bc97e7a417ebcb31600d01e57f32162a8560cacc
  7e27a096d37a1a86952ec71bd89a3e9a30a2a26162984d7740f81193e8238e61
  f6b5b984d4d3dfa033c1bb7e4f0037febf406d91c0dccf32acf423cfa1e70710
  10d3f270121b493ce85054ef58bada42310138fe081adb04e2bd901f2f13458b
  3d6758158197107c14ebb193230cd1157380aa79cae1374a7c1e5bbcb80ee23e
  06ebfde206bfb0fcbc0edc4ebec309661bdd908d532eb0c6adc38b7ca7331dce
  8dfce39ab71e7c32d318d136b6100671a1ae6a6600e3899f31f0eed19e3417d1
  34b90c9058f8632c798d4490da4987307cba922d61c39805d072b589bd52fdf1
  e86215c2d54e6670e07383a27bbffb5addf47d66aa85a0c6f9f32e59d85a44dd
  5d3b22dc2be80919b490437ae4f36a0ae55edf1d0b5cb4e9a3ecabee93dfc6e3
  8d209d0fa6536d27a5d6fbb17641cde27525d61093f1b28072d111b2b4ae5f89
  d5974ee12e5cf7d5da4d6a31123041f33e61407e76cffcdcfd7e19ba58cf4b53
  6f4c4938ae79324dc402894b44faf8afbab35282ab659d13c93f70412e85cb19
  9a37ddec600545473cfb5a05e08d0b209973b2172b4d21fb69745a262ccde96b
  a18b2faa745b6fe189cf772a9f84cbfc`);
const V2_SERVER = hex(`
  dc6b3343cf0008f067a5502a4262b5004075d92faaf16f05d8a4398c47089698
  baeea26b91eb761d9b89237bbf87263017915358230035f7fd3945d88965cf17
  f9af6e16886c61bfc703106fbaf3cb4cfa52382dd16a393e42757507698075b2
  c984c707f0a0812d8cd5a6881eaf21ceda98f4bd23f6fe1a3e2c43edd9ce7ca8
  4bed8521e2e140`);
const V2_RETRY = hex(`
  cf6b3343cf0008f067a5502a4262b5746f6b656ec8646ce8bfe33952d9555436
  65dcc7b6`);

/** §A.2: the CRYPTO frame at the start of the client's unprotected payload (PADDING follows). */
const RFC_CLIENT_CRYPTO = hex(`
  060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868
  04fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578
  616d706c652e636f6dff01000100000a00080006001d00170018001000070005
  04616c706e000500050100000000003300260024001d00209370b2c9caa47fba
  baf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b000302030400
  0d0010000e0403050306030203080408050806002d00020101001c0002400100
  3900320408ffffffffffffffff05048000ffff07048000ffff08011001048000
  75300901100f088394c8f03e51570806048000ffff`);

/** §A.3: the server's whole unprotected payload (ACK, CRYPTO with the ServerHello). */
const RFC_SERVER_PAYLOAD = hex(`
  02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739
  88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94
  0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00
  020304`);

type Datagram = { side: 0 | 1; data: Buffer };

function sniff(datagrams: Datagram[]): {
  units: RecordUnit[];
  errors: string[];
} {
  const ctx = recordingContext({}, { network: 'udp', serverPort: 443 });
  feedDatagrams(new QuicInitialSniffer(ctx), datagrams);
  return { units: ctx.units, errors: ctx.errors.map((e) => `${e.proto}:${e.code}`) };
}

function header(datagram: Buffer, start = 0): LongHeader {
  const h = parseLongHeader(datagram, start);
  assert.ok(typeof h !== 'string', typeof h === 'string' ? h : '');
  return h;
}

// --- this file's own Initial packet encoder (the inverse of what the sniffer does) ----------

function varint(n: number): Buffer {
  if (n < 0x40) return Buffer.of(n);
  if (n < 0x4000) return Buffer.of(0x40 | (n >> 8), n & 0xff);
  const b = Buffer.alloc(4);
  b.writeUInt32BE((0x80000000 | n) >>> 0);
  return b;
}

function cryptoFrame(offset: number, data: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x06), varint(offset), varint(data.length), data]);
}

interface InitialSpec {
  version: number;
  keys: InitialPacketKeys;
  dcid: Buffer;
  scid: Buffer;
  pn: number;
  frames: Buffer;
  /** Pad the packet with PADDING frames to this many bytes. */
  size?: number;
  pnLength?: 1 | 2 | 4;
}

/** Builds a protected Initial packet: AEAD_AES_128_GCM, then AES header protection. */
function protectInitial(spec: InitialSpec): Buffer {
  const pnLength = spec.pnLength ?? 2;
  const initialBits = spec.version === QUIC_V2 ? 0b01 : 0b00;
  const first = 0xc0 | (initialBits << 4) | (pnLength - 1);
  const prefix = Buffer.concat([
    Buffer.of(first),
    Buffer.from([
      spec.version >>> 24,
      (spec.version >> 16) & 0xff,
      (spec.version >> 8) & 0xff,
      spec.version & 0xff,
    ]),
    Buffer.of(spec.dcid.length),
    spec.dcid,
    Buffer.of(spec.scid.length),
    spec.scid,
    varint(0), // no token
  ]);
  // Length is written on 2 bytes; pad so the packet reaches `size` and the sample fits.
  const fixed = prefix.length + 2 + pnLength + 16;
  const padding = Math.max((spec.size ?? 0) - fixed - spec.frames.length, 4 - pnLength, 0);
  const plaintext = Buffer.concat([spec.frames, Buffer.alloc(padding)]);
  const length = pnLength + plaintext.length + 16;
  const pnBytes = Buffer.alloc(4);
  pnBytes.writeUInt32BE(spec.pn);
  const aad = Buffer.concat([
    prefix,
    Buffer.of(0x40 | (length >> 8), length & 0xff),
    pnBytes.subarray(4 - pnLength),
  ]);
  const nonce = Buffer.from(spec.keys.iv);
  for (let i = 0; i < 4; i++) nonce[nonce.length - 1 - i]! ^= pnBytes[3 - i]!;
  const aead = createCipheriv('aes-128-gcm', spec.keys.key, nonce);
  aead.setAAD(aad);
  const sealed = Buffer.concat([aead.update(plaintext), aead.final(), aead.getAuthTag()]);
  const packet = Buffer.concat([aad, sealed]);
  const pnOffset = aad.length - pnLength;
  const sample = packet.subarray(pnOffset + 4, pnOffset + 20);
  const mask = createCipheriv('aes-128-ecb', spec.keys.hp, null)
    .setAutoPadding(false)
    .update(sample);
  packet[0]! ^= mask[0]! & 0x0f;
  for (let i = 0; i < pnLength; i++) packet[pnOffset + i]! ^= mask[1 + i]!;
  return packet;
}

/** First handshake message of one side of a corpus TLS capture (header included). */
function corpusHandshake(capture: string, side: 0 | 1): Buffer {
  const chunk = followTcpStream(corpusCapture(capture), 0).chunks.find((c) => c.side === side)!;
  const record = chunk.data;
  return record.subarray(5, 5 + record.readUInt16BE(3));
}

// --- tests -----------------------------------------------------------------------------------

describe('Initial keys (RFC 9001 §A.1, RFC 9369 §A.1)', () => {
  test('v1', () => {
    const s = deriveInitialSecrets(quicVersionParams(QUIC_V1)!, RFC_DCID);
    assert.equal(
      s.initialSecret.toString('hex'),
      '7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44',
    );
    assert.equal(
      s.clientSecret.toString('hex'),
      'c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea',
    );
    assert.equal(s.client.key.toString('hex'), '1f369613dd76d5467730efcbe3b1a22d');
    assert.equal(s.client.iv.toString('hex'), 'fa044b2f42a3fd3b46fb255c');
    assert.equal(s.client.hp.toString('hex'), '9f50449e04a0e810283a1e9933adedd2');
    assert.equal(
      s.serverSecret.toString('hex'),
      '3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b',
    );
    assert.equal(s.server.key.toString('hex'), 'cf3a5331653c364c88f0f379b6067e37');
    assert.equal(s.server.iv.toString('hex'), '0ac1493ca1905853b0bba03e');
    assert.equal(s.server.hp.toString('hex'), 'c206b8d9b9f0f37644430b490eeaa314');
  });

  test('v2', () => {
    const s = deriveInitialSecrets(quicVersionParams(QUIC_V2)!, RFC_DCID);
    assert.equal(
      s.initialSecret.toString('hex'),
      '2062e8b3cd8d52092614b8071d0aa1fb7c2e3ac193f78b280e72d8f5751f6aba',
    );
    assert.equal(
      s.clientSecret.toString('hex'),
      '14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b',
    );
    assert.equal(s.client.key.toString('hex'), '8b1a0bc121284290a29e0971b5cd045d');
    assert.equal(s.client.iv.toString('hex'), '91f73e2351d8fa91660e909f');
    assert.equal(s.client.hp.toString('hex'), '45b95e15235d6f45a6b19cbcb0294ba9');
    assert.equal(
      s.serverSecret.toString('hex'),
      '0263db1782731bf4588e7e4d93b7463907cb8cd8200b5da55a8bd488eafc37c1',
    );
    assert.equal(s.server.key.toString('hex'), '82db637861d55e1d011f19ea71d5d2a7');
    assert.equal(s.server.iv.toString('hex'), 'dd13c276499c0249d3310652');
    assert.equal(s.server.hp.toString('hex'), 'edf6d05c83121201b436e16877593c3a');
  });
});

for (const [name, version, client, server] of [
  ['v1 (RFC 9001 §A.2–A.3)', QUIC_V1, V1_CLIENT, V1_SERVER],
  ['v2 (RFC 9369 §A.2–A.3)', QUIC_V2, V2_CLIENT, V2_SERVER],
] as const) {
  describe(`sample packets ${name}`, () => {
    const secrets = deriveInitialSecrets(quicVersionParams(version)!, RFC_DCID);

    test('client Initial: header, packet number 2, the unprotected CRYPTO frame', () => {
      const h = header(client);
      assert.equal(h.params.version, version);
      assert.deepEqual(h.dcid, RFC_DCID);
      assert.equal(h.pnOffset, 18);
      assert.equal(h.end, 1200);
      const opened = new InitialOpener(secrets.client).open(client, h, -1);
      assert.ok(opened.ok);
      assert.equal(opened.packetNumber, 2);
      assert.equal(opened.payload.length, 1162);
      assert.deepEqual(opened.payload.subarray(0, RFC_CLIENT_CRYPTO.length), RFC_CLIENT_CRYPTO);
      assert.ok(opened.payload.subarray(RFC_CLIENT_CRYPTO.length).every((b) => b === 0));
    });

    test('server Initial: packet number 1 from a 2-byte encoding, the whole payload', () => {
      const opened = new InitialOpener(secrets.server).open(server, header(server), -1);
      assert.ok(opened.ok);
      assert.equal(opened.packetNumber, 1);
      assert.deepEqual(opened.payload, RFC_SERVER_PAYLOAD);
    });

    test('the record', () => {
      const { units, errors } = sniff([
        { side: 0, data: client },
        { side: 1, data: server },
      ]);
      assert.deepEqual(errors, []);
      assert.equal(units.length, 1);
      const u = units[0]!;
      assert.equal(u.proto, 'quic');
      assert.equal(u.scope, 'connection');
      assert.equal(u.host, 'example.com:443');
      assert.equal(u.err, '');
      // Read off the §A.2 hex: ciphers 1301 1302; extensions server_name, renegotiation_info,
      // supported_groups (x25519, secp256r1, secp384r1), ALPN "alpn", status_request, key_share,
      // supported_versions, signature_algorithms, psk_key_exchange_modes, record_size_limit,
      // quic_transport_parameters; no ec_point_formats.
      assert.deepEqual(u.tls, {
        serverName: 'example.com',
        cipherSuite: 'TLS_AES_128_GCM_SHA256',
        compressionMethod: 0,
        proto: 'alpn',
        version: 'tls1.3',
        // GOST's QUIC records carry the first datagram of each side as the "hello".
        clientHello: client.toString('hex'),
        serverHello: server.toString('hex'),
        clientVersions: ['tls1.3'],
        clientCiphers: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'],
        alpnOffered: ['alpn'],
        alpnSelected: '',
        clientExtensions: [0, 65281, 10, 16, 5, 51, 43, 13, 45, 28, 57],
        ja3: '771,4865-4866,0-65281-10-16-5-51-43-13-45-28-57,29-23-24,',
        ja3Hash: '41bc9ae914d6cb3bd0bd0a5453ab7d7f',
        ja3s: '771,4865,51-43',
        ja3sHash: 'eb1d94daa7e0344597e756a1fb6e7054',
        ja4: 'q13d0211an_62ed6f6ca7ad_4d634acda6c0',
        certificates: [],
      });
    });

    test('detector', () => {
      assert.equal(looksLikeQuicInitial(client), true);
      assert.equal(looksLikeQuicInitial(server), true);
    });
  });
}

describe('a real ClientHello over several Initial packets (own encoder)', () => {
  // Chrome's 1.7 KB ClientHello with a Kyber key share, and a TLS 1.3 ServerHello.
  const clientHello = corpusHandshake('zk-tls13-chrome-kyber.pcap', 0);
  const serverHello = corpusHandshake('is-tls13-keylog.pcap', 1);
  const chExpected = corpusExpected('zk-tls13-chrome-kyber.pcap', 'tls')[0]!;
  const shExpected = corpusExpected('is-tls13-keylog.pcap', 'tls')[0]!;
  const dcid = hex('0123456789abcdef');
  const clientScid = hex('c1c1c1c1');
  const serverScid = hex('5e5e5e5e5e5e5e5e');

  for (const version of [QUIC_V1, QUIC_V2]) {
    const keys = deriveInitialSecrets(quicVersionParams(version)!, dcid);
    const cut = 1000;
    const first = protectInitial({
      version,
      keys: keys.client,
      dcid,
      scid: clientScid,
      pn: 0,
      frames: cryptoFrame(0, clientHello.subarray(0, cut)),
      size: 1200,
    });
    const second = protectInitial({
      version,
      keys: keys.client,
      dcid,
      scid: clientScid,
      pn: 1,
      frames: cryptoFrame(cut, clientHello.subarray(cut)),
      size: 1200,
    });
    // The server acknowledges packet 1 and sends its ServerHello; it answers to the client's SCID.
    const ack = hex('0201000001');
    const response = protectInitial({
      version,
      keys: keys.server,
      dcid: clientScid,
      scid: serverScid,
      pn: 0,
      frames: Buffer.concat([ack, cryptoFrame(0, serverHello)]),
      pnLength: 1,
    });

    const check = (datagrams: Datagram[]): void => {
      const { units, errors } = sniff(datagrams);
      assert.deepEqual(errors, []);
      const tls = units[0]!.tls!;
      assert.equal(units[0]!.host, 'lh3.google.com:443');
      // The same ClientHello bytes tshark fingerprinted on TCP.
      assert.equal(tls.ja3, chExpected.ja3_full);
      assert.equal(tls.ja3Hash, chExpected.ja3);
      assert.equal(tls.ja4, 'q13d1516h2_8daaf6152771_02713d6af862');
      assert.deepEqual(tls.alpnOffered, ['h2', 'http/1.1']);
      assert.equal(tls.ja3s, shExpected.ja3s_full);
      assert.equal(tls.ja3sHash, shExpected.ja3s);
      assert.equal(tls.version, 'tls1.3');
      assert.equal(tls.cipherSuite, 'TLS_AES_256_GCM_SHA384');
      assert.equal(tls.alpnSelected, '');
    };

    test(`v${version === QUIC_V1 ? 1 : 2}: two datagrams, in order and reversed`, () => {
      check([
        { side: 0, data: first },
        { side: 0, data: second },
        { side: 1, data: response },
      ]);
      check([
        { side: 0, data: second },
        { side: 1, data: response },
        { side: 0, data: first },
      ]);
    });

    test(`v${version === QUIC_V1 ? 1 : 2}: both packets coalesced in one datagram, then retransmitted`, () => {
      const both = Buffer.concat([first, second]);
      check([
        { side: 0, data: both },
        { side: 0, data: both },
        { side: 1, data: response },
      ]);
    });
  }

  test('overlapping CRYPTO frames, shuffled inside one packet', () => {
    const keys = deriveInitialSecrets(quicVersionParams(QUIC_V1)!, dcid);
    const frames = Buffer.concat([
      cryptoFrame(900, clientHello.subarray(900)),
      cryptoFrame(0, clientHello.subarray(0, 500)),
      cryptoFrame(300, clientHello.subarray(300, 1200)),
    ]);
    const packet = protectInitial({
      version: QUIC_V1,
      keys: keys.client,
      dcid,
      scid: clientScid,
      pn: 0,
      frames,
      size: 1200,
    });
    const { units, errors } = sniff([{ side: 0, data: packet }]);
    assert.deepEqual(errors, []);
    assert.equal(units[0]!.tls!.ja3Hash, chExpected.ja3);
    assert.equal(units[0]!.tls!.version, '');
  });

  test('after a Retry the client Initial is keyed by the new connection ID', () => {
    // RFC 9001 §A.4's Retry hands out SCID f067a5502a4262b5.
    const retryScid = hex('f067a5502a4262b5');
    const keys = deriveInitialSecrets(quicVersionParams(QUIC_V1)!, retryScid);
    const retried = protectInitial({
      version: QUIC_V1,
      keys: keys.client,
      dcid: retryScid,
      scid: clientScid,
      pn: 2,
      frames: cryptoFrame(0, clientHello),
      size: 1900,
    });
    // The first client Initial is cut short, so the ClientHello only arrives after the Retry.
    const truncatedFirst = protectInitial({
      version: QUIC_V1,
      keys: deriveInitialSecrets(quicVersionParams(QUIC_V1)!, RFC_DCID).client,
      dcid: RFC_DCID,
      scid: clientScid,
      pn: 0,
      frames: cryptoFrame(0, clientHello.subarray(0, 10)),
      size: 1200,
    });
    const { units, errors } = sniff([
      { side: 0, data: truncatedFirst },
      { side: 1, data: V1_RETRY },
      { side: 0, data: retried },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(units[0]!.tls!.serverName, 'lh3.google.com');
    const h = header(V2_RETRY);
    assert.equal(h.end, V2_RETRY.length);
  });
});

describe('coalesced packets and packet numbers', () => {
  test('a Handshake packet and padding after the server Initial are skipped', () => {
    // Type 0b10 (Handshake), v1, empty DCID, 8-byte SCID, Length 20, 20 opaque bytes.
    const handshakePacket = Buffer.concat([
      hex('e0 00000001 00 08 0102030405060708 14'),
      Buffer.alloc(20, 0x55),
    ]);
    assert.equal(header(handshakePacket).end, handshakePacket.length);
    const { units, errors } = sniff([
      { side: 0, data: V1_CLIENT },
      { side: 1, data: Buffer.concat([V1_SERVER, handshakePacket, Buffer.alloc(30)]) },
    ]);
    assert.deepEqual(errors, []);
    assert.equal(units[0]!.tls!.cipherSuite, 'TLS_AES_128_GCM_SHA256');
  });

  test('RFC 9000 Appendix A.3 packet number decoding', () => {
    assert.equal(decodePacketNumber(0xa82f30ea, 0x9b32, 16), 0xa82f9b32);
    assert.equal(decodePacketNumber(-1, 2, 32), 2);
    assert.equal(decodePacketNumber(0xff, 0x01, 8), 0x101);
    assert.equal(decodePacketNumber(2 ** 40, 0xffff, 16), 2 ** 40 - 1);
  });
});

describe('hostile and foreign datagrams', () => {
  const keys = deriveInitialSecrets(quicVersionParams(QUIC_V1)!, RFC_DCID);
  const initial = (frames: Buffer, pn = 0): Buffer =>
    protectInitial({
      version: QUIC_V1,
      keys: keys.client,
      dcid: RFC_DCID,
      scid: Buffer.alloc(0),
      pn,
      frames,
      size: 1200,
    });

  test('corrupted authentication tag and ciphertext: decrypt_failed, counted', () => {
    const badTag = Buffer.from(V1_CLIENT);
    badTag[badTag.length - 1]! ^= 0x01;
    const badBody = Buffer.from(V1_CLIENT);
    badBody[600]! ^= 0x80;
    const { units, errors } = sniff([
      { side: 0, data: badTag },
      { side: 0, data: badBody },
    ]);
    assert.deepEqual(errors, ['quic:decrypt_failed', 'quic:decrypt_failed']);
    assert.equal(units[0]!.err, 'decrypt_failed');
    assert.equal(units[0]!.tls!.ja3, '');
  });

  test('a corrupted server Initial leaves the client side intact', () => {
    const bad = Buffer.from(V1_SERVER);
    bad[60]! ^= 0x01;
    const { units, errors } = sniff([
      { side: 0, data: V1_CLIENT },
      { side: 1, data: bad },
    ]);
    assert.deepEqual(errors, ['quic:decrypt_failed']);
    assert.equal(units[0]!.tls!.serverName, 'example.com');
    assert.equal(units[0]!.tls!.version, '');
  });

  test('CRYPTO offset past 64 KiB, a STREAM frame, a cut-short frame', () => {
    assert.deepEqual(
      sniff([{ side: 0, data: initial(cryptoFrame(70_000, Buffer.alloc(10))) }]).errors,
      ['quic:crypto_offset_too_large'],
    );
    assert.deepEqual(sniff([{ side: 0, data: initial(hex('0800')) }]).errors, [
      'quic:bad_frame_type',
    ]);
    assert.deepEqual(sniff([{ side: 0, data: initial(hex('0600ff')) }]).errors, [
      'quic:frame_truncated',
    ]);
  });

  test('a handshake message declaring more than the CRYPTO cap', () => {
    const { errors } = sniff([{ side: 0, data: initial(cryptoFrame(0, hex('01ffffff'))) }]);
    assert.deepEqual(errors, ['quic:handshake_too_long']);
  });

  test('a server Initial whose first message is not a ServerHello', () => {
    const server = protectInitial({
      version: QUIC_V1,
      keys: keys.server,
      dcid: Buffer.alloc(0),
      scid: hex('01'),
      pn: 0,
      frames: cryptoFrame(0, hex('0b000000')),
      pnLength: 1,
    });
    const { errors } = sniff([
      { side: 0, data: V1_CLIENT },
      { side: 1, data: server },
    ]);
    assert.deepEqual(errors, ['quic:not_server_hello']);
  });

  test('Length past the end of the datagram', () => {
    const cut = V1_CLIENT.subarray(0, 600);
    assert.equal(parseLongHeader(cut, 0), 'packet_truncated');
    assert.deepEqual(
      sniff([
        { side: 0, data: V1_CLIENT },
        { side: 0, data: cut },
      ]).errors,
      ['quic:packet_truncated'],
    );
  });

  test(`work stops after ${MAX_INITIAL_PACKETS} Initial packets per side`, () => {
    const pings = Array.from({ length: MAX_INITIAL_PACKETS }, (_, i): Datagram => ({
      side: 0,
      data: initial(hex('01'), i),
    }));
    const hello = { side: 0 as const, data: V1_CLIENT };
    assert.equal(sniff([...pings.slice(1), hello]).units[0]!.tls!.serverName, 'example.com');
    assert.equal(sniff([...pings, hello]).units[0]!.tls!.serverName, '');
  });

  test('a server Initial before any client Initial is ignored', () => {
    const { units, errors } = sniff([{ side: 1, data: V1_SERVER }]);
    assert.deepEqual(errors, []);
    assert.equal(units[0]!.tls!.version, '');
  });

  test('DNS traffic: no record, no error, and the flow is dropped after a few datagrams', () => {
    const dns: Datagram[] = udpDatagrams(corpusCapture('sv-dns-a-aaaa-mx.pcap')).map((d, i) => ({
      side: i % 2 === 0 ? 0 : 1,
      data: d.payload,
    }));
    assert.ok(dns.length >= 4);
    assert.ok(dns.every((d) => !looksLikeQuicInitial(d.data)));
    assert.deepEqual(sniff(dns), { units: [], errors: [] });
    // A valid Initial after the cut-off is not looked at any more.
    assert.deepEqual(sniff([...dns, { side: 0, data: V1_CLIENT }]), { units: [], errors: [] });
    assert.equal(sniff([...dns.slice(0, 2), { side: 0, data: V1_CLIENT }]).units.length, 1);
  });

  test('detector near misses', () => {
    const v1Handshake = Buffer.from(V1_CLIENT);
    v1Handshake[0] = 0xe0;
    const v2WithV1Bits = Buffer.from(V2_CLIENT);
    v2WithV1Bits[0] = 0xc0; // type 0b00 is Retry in v2
    const longCid = Buffer.from(V1_CLIENT);
    longCid[5] = 21;
    const versionNegotiation = hex('80000000000800112233445566778800');
    const shortHeader = hex('4cfe4189655e5cd55c41f69080575d7999c25a5bfb');
    for (const d of [
      v1Handshake,
      v2WithV1Bits,
      longCid,
      versionNegotiation,
      shortHeader,
      V1_CLIENT.subarray(0, 5),
    ]) {
      assert.equal(looksLikeQuicInitial(d), false, d.subarray(0, 8).toString('hex'));
    }
    assert.deepEqual(sniff([{ side: 0, data: versionNegotiation }]), { units: [], errors: [] });
  });

  test('random datagrams with a QUIC v1 Initial first byte: no throw', () => {
    const random = rng(0x9001);
    const next = (): number => Math.floor(random() * 2 ** 16);
    for (let i = 0; i < 300; i++) {
      const d = Buffer.from(V1_CLIENT);
      for (let f = 0; f < 1 + (next() % 6); f++) d[next() % 60] = next() % 256;
      const { errors } = sniff([{ side: 0, data: d }]);
      for (const e of errors) assert.match(e, /^quic:[a-z0-9_]+$/);
    }
  });
});
