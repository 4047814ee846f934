/**
 * EDNS(0) options, the RDATA of the OPT pseudo-RR (RFC 6891 §6.1.2): `{code, length, data}` until
 * the RDATA ends. Options miekg knows are decoded with the same length rules it applies (a length it
 * rejects is `bad_edns_option`); any other code is kept as hex (miekg's `EDNS0_LOCAL`).
 */
import { ipv4Text, ipv6Text } from './dns-ip-text.ts';
import type { WireReader } from './dns-wire-reader.ts';

/** Option codes (IANA "DNS EDNS0 Option Codes"). */
const EdnsCode = {
  Llq: 1,
  UpdateLease: 2,
  Nsid: 3,
  Esu: 4,
  Dau: 5,
  Dhu: 6,
  N3u: 7,
  ClientSubnet: 8,
  Expire: 9,
  Cookie: 10,
  TcpKeepalive: 11,
  Padding: 12,
  ExtendedError: 15,
} as const;

export type EdnsOption =
  | { kind: 'nsid'; code: number; hex: string }
  /** RFC 7871 §6. `address` as Go prints it (zero-padded to the family's length). */
  | {
      kind: 'subnet';
      code: number;
      family: number;
      sourcePrefix: number;
      scopePrefix: number;
      address: string;
    }
  | { kind: 'cookie'; code: number; hex: string }
  /** RFC 7314: `seconds` null for the empty form a query sends. */
  | { kind: 'expire'; code: number; seconds: number | null }
  /** RFC 7828: idle timeout in units of 100 ms, 0 when omitted. */
  | { kind: 'keepalive'; code: number; timeout: number }
  | { kind: 'padding'; code: number; hex: string }
  /** RFC 8914. */
  | { kind: 'ede'; code: number; infoCode: number; extraText: string }
  | { kind: 'update-lease'; code: number; lease: number; keyLease: number }
  | {
      kind: 'llq';
      code: number;
      version: number;
      opcode: number;
      error: number;
      /** 64-bit id, decimal. */
      id: string;
      leaseLife: number;
    }
  /** RFC 6975: DAU, DHU and N3U list algorithm numbers. */
  | { kind: 'dau' | 'dhu' | 'n3u'; code: number; algorithms: number[] }
  | { kind: 'esu'; code: number; uri: string }
  | { kind: 'local'; code: number; hex: string };

const SUBNET_FIXED_LENGTH = 4;
const IPV4_BITS = 32;
const IPV6_BITS = 128;
const LLQ_LENGTH = 18;
const EDE_FIXED_LENGTH = 2;

/** Decodes the options of one OPT RDATA; stops with `bad_edns_option` on a malformed one. */
export function readEdnsOptions(r: WireReader): EdnsOption[] {
  const options: EdnsOption[] = [];
  while (!r.atEnd()) {
    if (r.remaining < 4) {
      r.fail('bad_edns_option');
      break;
    }
    const code = r.u16();
    const length = r.u16();
    if (length > r.remaining) {
      r.fail('bad_edns_option');
      break;
    }
    const option = decodeOption(code, r.bytes(length));
    if (option === null) {
      r.fail('bad_edns_option');
      break;
    }
    options.push(option);
  }
  return options;
}

function algorithms(data: Buffer): number[] {
  return Array.from(data);
}

/** One option's data; null when its length or value is impossible. */
function decodeOption(code: number, data: Buffer): EdnsOption | null {
  switch (code) {
    case EdnsCode.Nsid:
      return { kind: 'nsid', code, hex: data.toString('hex') };
    case EdnsCode.ClientSubnet:
      return decodeSubnet(code, data);
    case EdnsCode.Cookie:
      return { kind: 'cookie', code, hex: data.toString('hex') };
    case EdnsCode.Expire:
      if (data.length === 0) return { kind: 'expire', code, seconds: null };
      return data.length < 4 ? null : { kind: 'expire', code, seconds: data.readUInt32BE(0) };
    case EdnsCode.TcpKeepalive:
      if (data.length === 0) return { kind: 'keepalive', code, timeout: 0 };
      return data.length === 2 ? { kind: 'keepalive', code, timeout: data.readUInt16BE(0) } : null;
    case EdnsCode.Padding:
      return { kind: 'padding', code, hex: data.toString('hex') };
    case EdnsCode.ExtendedError:
      if (data.length < EDE_FIXED_LENGTH) return null;
      return {
        kind: 'ede',
        code,
        infoCode: data.readUInt16BE(0),
        extraText: data.toString('utf8', EDE_FIXED_LENGTH),
      };
    case EdnsCode.UpdateLease:
      if (data.length !== 4 && data.length !== 8) return null;
      return {
        kind: 'update-lease',
        code,
        lease: data.readUInt32BE(0),
        keyLease: data.length === 8 ? data.readUInt32BE(4) : 0,
      };
    case EdnsCode.Llq:
      if (data.length < LLQ_LENGTH) return null;
      return {
        kind: 'llq',
        code,
        version: data.readUInt16BE(0),
        opcode: data.readUInt16BE(2),
        error: data.readUInt16BE(4),
        id: data.readBigUInt64BE(6).toString(),
        leaseLife: data.readUInt32BE(14),
      };
    case EdnsCode.Dau:
      return { kind: 'dau', code, algorithms: algorithms(data) };
    case EdnsCode.Dhu:
      return { kind: 'dhu', code, algorithms: algorithms(data) };
    case EdnsCode.N3u:
      return { kind: 'n3u', code, algorithms: algorithms(data) };
    case EdnsCode.Esu:
      return { kind: 'esu', code, uri: data.toString('utf8') };
    default:
      return { kind: 'local', code, hex: data.toString('hex') };
  }
}

/**
 * RFC 7871 §6: FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS (truncated to the prefix).
 * Family 0 with prefix 0 is what dig sends; miekg accepts it as 0.0.0.0.
 */
function decodeSubnet(code: number, data: Buffer): EdnsOption | null {
  if (data.length < SUBNET_FIXED_LENGTH) return null;
  const family = data.readUInt16BE(0);
  const sourcePrefix = data[2]!;
  const scopePrefix = data[3]!;
  const addr = data.subarray(SUBNET_FIXED_LENGTH);
  let address: string;
  if (family === 0) {
    if (sourcePrefix !== 0) return null;
    address = '0.0.0.0';
  } else if (family === 1) {
    if (sourcePrefix > IPV4_BITS || scopePrefix > IPV4_BITS) return null;
    address = ipv4Text(padded(addr, 4), 0);
  } else if (family === 2) {
    if (sourcePrefix > IPV6_BITS || scopePrefix > IPV6_BITS) return null;
    address = ipv6Text(padded(addr, 16), 0);
  } else {
    return null;
  }
  return { kind: 'subnet', code, family, sourcePrefix, scopePrefix, address };
}

/** The first `n` bytes of `b`, zero-padded to `n`. */
function padded(b: Buffer, n: number): Buffer {
  const out = Buffer.alloc(n);
  b.copy(out, 0, 0, Math.min(n, b.length));
  return out;
}
