/**
 * RDATA decoders, one per RR type (RFC beside each), into values kept in presentation form (names
 * and character-strings escaped, binary as hex or base64) so nothing aliases the borrowed input.
 *
 * Field rules follow miekg/dns v1.1.61 so that the text dump matches GOST's: when the RDATA ends
 * exactly between two fields, the remaining fields keep their zero value (this is also how an empty
 * RDATA, legal in UPDATE, decodes); a field cut in the middle is `bad_rdata`; fields that end before
 * RDLENGTH does are `bad_rdlength` (checked by the caller). Types without a decoder here are kept
 * as RFC 3597 hex.
 */
import { RrType } from './dns-constants.ts';
import { readEdnsOptions, type EdnsOption } from './dns-edns.ts';
import { escapeCharString, escapeOctetString } from './dns-escape.ts';
import { ipv4Text, ipv6Text, isIpv4Mapped } from './dns-ip-text.ts';
import { readName } from './dns-name.ts';
import { readSvcParams, type SvcParam } from './dns-svcb.ts';
import type { WireReader } from './dns-wire-reader.ts';

export type DnsRdata =
  /** A (RFC 1035 §3.4.1); '' for an empty RDATA. */
  | { kind: 'a'; address: string }
  /** AAAA (RFC 3596 §2.2); IPv4-mapped addresses print as `::ffff:a.b.c.d`. */
  | { kind: 'aaaa'; address: string }
  /** NS, CNAME, PTR, DNAME and the obsolete MD, MF, MB, MG, MR: one domain name. */
  | { kind: 'name'; target: string }
  | { kind: 'mx'; preference: number; exchange: string }
  /** TXT, SPF, AVC: character-strings, escaped, without the quotes. */
  | { kind: 'txt'; strings: string[] }
  | {
      kind: 'soa';
      mname: string;
      rname: string;
      serial: number;
      refresh: number;
      retry: number;
      expire: number;
      minimum: number;
    }
  | { kind: 'srv'; priority: number; weight: number; port: number; target: string }
  | {
      kind: 'naptr';
      order: number;
      preference: number;
      flags: string;
      services: string;
      regexp: string;
      replacement: string;
    }
  /** RFC 1876 §2: raw fields; the printer does the arithmetic. */
  | {
      kind: 'loc';
      version: number;
      size: number;
      horizPre: number;
      vertPre: number;
      latitude: number;
      longitude: number;
      altitude: number;
    }
  /** DS, CDS, DLV, TA (RFC 4034 §5.1); digest in lowercase hex. */
  | { kind: 'ds'; keyTag: number; algorithm: number; digestType: number; digest: string }
  /** RFC 4255 §3.1; fingerprint in lowercase hex. */
  | { kind: 'sshfp'; algorithm: number; fpType: number; fingerprint: string }
  /** RRSIG and SIG (RFC 4034 §3.1); signature in base64. */
  | {
      kind: 'rrsig';
      typeCovered: number;
      algorithm: number;
      labels: number;
      originalTtl: number;
      expiration: number;
      inception: number;
      keyTag: number;
      signerName: string;
      signature: string;
    }
  /** RFC 4034 §4.1. */
  | { kind: 'nsec'; nextName: string; types: number[] }
  /** NSEC3 (RFC 5155 §3.2): salt as hex, the next hashed owner as base32hex. */
  | {
      kind: 'nsec3';
      hash: number;
      flags: number;
      iterations: number;
      salt: string;
      nextHashed: string;
      types: number[];
    }
  | { kind: 'nsec3param'; hash: number; flags: number; iterations: number; salt: string }
  /** TLSA (RFC 6698 §2.1). */
  | { kind: 'tlsa'; usage: number; selector: number; matchingType: number; data: string }
  /** DNSKEY, CDNSKEY, KEY (RFC 4034 §2.1); public key in base64. */
  | { kind: 'dnskey'; flags: number; protocol: number; algorithm: number; publicKey: string }
  /** SVCB and HTTPS (RFC 9460 §2.2). */
  | { kind: 'svcb'; priority: number; target: string; params: SvcParam[] }
  /** OPT (RFC 6891 §6.1.2). */
  | { kind: 'opt'; options: EdnsOption[] }
  /** RFC 8659 §4.1; tag and value escaped as miekg prints them. */
  | { kind: 'caa'; flags: number; tag: string; value: string }
  /** ANY (255) in an UPDATE "delete all RRsets" (RFC 2136 §2.5.2): no RDATA at all. */
  | { kind: 'any' }
  /** Anything else, as RFC 3597 §5 hex (lowercase). */
  | { kind: 'unknown'; hex: string };

/** Decodes the RDATA `r` spans (r.end = RDATA end). Check `r.error` and `r.pos === r.end` after. */
export function readRdata(type: number, r: WireReader): DnsRdata {
  switch (type) {
    case RrType.A:
      return { kind: 'a', address: r.atEnd() ? '' : aText(r.bytes(4)) };
    case RrType.AAAA:
      return { kind: 'aaaa', address: r.atEnd() ? '' : aaaaText(r.bytes(16)) };
    case RrType.NS:
    case RrType.MD:
    case RrType.MF:
    case RrType.CNAME:
    case RrType.MB:
    case RrType.MG:
    case RrType.MR:
    case RrType.PTR:
    case RrType.DNAME:
      return { kind: 'name', target: r.atEnd() ? '' : readName(r) };
    case RrType.MX:
      return readMx(r);
    case RrType.TXT:
    case RrType.HINFO: // CPU and OS: two character-strings, printed as TXT's are
    case RrType.SPF:
    case RrType.AVC:
      return readTxt(r);
    case RrType.SOA:
      return readSoa(r);
    case RrType.SRV:
      return readSrv(r);
    case RrType.NAPTR:
      return readNaptr(r);
    case RrType.LOC:
      return readLoc(r);
    case RrType.DS:
    case RrType.CDS:
    case RrType.DLV:
    case RrType.TA:
      return readDs(r);
    case RrType.SSHFP:
      return readSshfp(r);
    case RrType.RRSIG:
    case RrType.SIG:
      return readRrsig(r);
    case RrType.NSEC:
      return readNsec(r);
    case RrType.NSEC3:
      return readNsec3(r);
    case RrType.NSEC3PARAM:
      return readNsec3Param(r);
    case RrType.TLSA:
      return readTlsa(r);
    case RrType.DNSKEY:
    case RrType.CDNSKEY:
    case RrType.KEY:
      return readDnskey(r);
    case RrType.SVCB:
    case RrType.HTTPS:
      return readSvcb(r);
    case RrType.OPT:
      return { kind: 'opt', options: readEdnsOptions(r) };
    case RrType.CAA:
      return readCaa(r);
    case RrType.ANY:
      return { kind: 'any' };
    default:
      return { kind: 'unknown', hex: r.rest().toString('hex') };
  }
}

/** '' after a short read (the error is recorded and the RR dropped). */
function aText(b: Buffer): string {
  return b.length === 0 ? '' : ipv4Text(b, 0);
}

function aaaaText(b: Buffer): string {
  if (b.length === 0) return '';
  return isIpv4Mapped(b, 0) ? `::ffff:${ipv6Text(b, 0)}` : ipv6Text(b, 0);
}

/** One `<length><bytes>` character-string (RFC 1035 §3.3), escaped. */
function readCharString(r: WireReader): string {
  const n = r.u8();
  const b = r.bytes(n);
  return escapeCharString(b, 0, b.length);
}

function readMx(r: WireReader): DnsRdata {
  const rd = { kind: 'mx' as const, preference: 0, exchange: '' };
  if (r.atEnd()) return rd;
  rd.preference = r.u16();
  if (r.atEnd()) return rd;
  rd.exchange = readName(r);
  return rd;
}

function readTxt(r: WireReader): DnsRdata {
  const strings: string[] = [];
  while (!r.atEnd()) strings.push(readCharString(r));
  return { kind: 'txt', strings };
}

function readSoa(r: WireReader): DnsRdata {
  const rd = {
    kind: 'soa' as const,
    mname: '',
    rname: '',
    serial: 0,
    refresh: 0,
    retry: 0,
    expire: 0,
    minimum: 0,
  };
  if (r.atEnd()) return rd;
  rd.mname = readName(r);
  if (r.atEnd()) return rd;
  rd.rname = readName(r);
  if (r.atEnd()) return rd;
  rd.serial = r.u32();
  if (r.atEnd()) return rd;
  rd.refresh = r.u32();
  if (r.atEnd()) return rd;
  rd.retry = r.u32();
  if (r.atEnd()) return rd;
  rd.expire = r.u32();
  if (r.atEnd()) return rd;
  rd.minimum = r.u32();
  return rd;
}

function readSrv(r: WireReader): DnsRdata {
  const rd = { kind: 'srv' as const, priority: 0, weight: 0, port: 0, target: '' };
  if (r.atEnd()) return rd;
  rd.priority = r.u16();
  if (r.atEnd()) return rd;
  rd.weight = r.u16();
  if (r.atEnd()) return rd;
  rd.port = r.u16();
  if (r.atEnd()) return rd;
  rd.target = readName(r);
  return rd;
}

function readNaptr(r: WireReader): DnsRdata {
  const rd = {
    kind: 'naptr' as const,
    order: 0,
    preference: 0,
    flags: '',
    services: '',
    regexp: '',
    replacement: '',
  };
  if (r.atEnd()) return rd;
  rd.order = r.u16();
  if (r.atEnd()) return rd;
  rd.preference = r.u16();
  if (r.atEnd()) return rd;
  rd.flags = readCharString(r);
  if (r.atEnd()) return rd;
  rd.services = readCharString(r);
  if (r.atEnd()) return rd;
  rd.regexp = readCharString(r);
  if (r.atEnd()) return rd;
  rd.replacement = readName(r);
  return rd;
}

function readLoc(r: WireReader): DnsRdata {
  const rd = {
    kind: 'loc' as const,
    version: 0,
    size: 0,
    horizPre: 0,
    vertPre: 0,
    latitude: 0,
    longitude: 0,
    altitude: 0,
  };
  if (r.atEnd()) return rd;
  rd.version = r.u8();
  if (r.atEnd()) return rd;
  rd.size = r.u8();
  if (r.atEnd()) return rd;
  rd.horizPre = r.u8();
  if (r.atEnd()) return rd;
  rd.vertPre = r.u8();
  if (r.atEnd()) return rd;
  rd.latitude = r.u32();
  if (r.atEnd()) return rd;
  rd.longitude = r.u32();
  if (r.atEnd()) return rd;
  rd.altitude = r.u32();
  return rd;
}

function readDs(r: WireReader): DnsRdata {
  const rd = { kind: 'ds' as const, keyTag: 0, algorithm: 0, digestType: 0, digest: '' };
  if (r.atEnd()) return rd;
  rd.keyTag = r.u16();
  if (r.atEnd()) return rd;
  rd.algorithm = r.u8();
  if (r.atEnd()) return rd;
  rd.digestType = r.u8();
  rd.digest = r.rest().toString('hex');
  return rd;
}

function readSshfp(r: WireReader): DnsRdata {
  const rd = { kind: 'sshfp' as const, algorithm: 0, fpType: 0, fingerprint: '' };
  if (r.atEnd()) return rd;
  rd.algorithm = r.u8();
  if (r.atEnd()) return rd;
  rd.fpType = r.u8();
  rd.fingerprint = r.rest().toString('hex');
  return rd;
}

function readRrsig(r: WireReader): DnsRdata {
  const rd = {
    kind: 'rrsig' as const,
    typeCovered: 0,
    algorithm: 0,
    labels: 0,
    originalTtl: 0,
    expiration: 0,
    inception: 0,
    keyTag: 0,
    signerName: '',
    signature: '',
  };
  if (r.atEnd()) return rd;
  rd.typeCovered = r.u16();
  if (r.atEnd()) return rd;
  rd.algorithm = r.u8();
  if (r.atEnd()) return rd;
  rd.labels = r.u8();
  if (r.atEnd()) return rd;
  rd.originalTtl = r.u32();
  if (r.atEnd()) return rd;
  rd.expiration = r.u32();
  if (r.atEnd()) return rd;
  rd.inception = r.u32();
  if (r.atEnd()) return rd;
  rd.keyTag = r.u16();
  if (r.atEnd()) return rd;
  rd.signerName = readName(r);
  rd.signature = r.rest().toString('base64');
  return rd;
}

const NSEC_MAX_BITMAP_LENGTH = 32;

/** RFC 4034 §4.1: the next owner name and the type bit maps. */
function readNsec(r: WireReader): DnsRdata {
  const rd = { kind: 'nsec' as const, nextName: '', types: [] as number[] };
  if (r.atEnd()) return rd;
  rd.nextName = readName(r);
  readTypeBitmap(r, rd.types);
  return rd;
}

/**
 * RFC 4034 §4.1.2 type bit maps (NSEC, NSEC3) into `types`: windows in increasing order, each
 * 1–32 bytes long. The list is bounded by the RDATA (at most 256 types per window).
 */
function readTypeBitmap(r: WireReader, types: number[]): void {
  let lastWindow = -1;
  while (!r.atEnd()) {
    const window = r.u8();
    const length = r.u8();
    if (!r.ok()) break;
    if (window <= lastWindow || length === 0 || length > NSEC_MAX_BITMAP_LENGTH) {
      r.fail('bad_rdata');
      break;
    }
    const bits = r.bytes(length);
    for (let i = 0; i < bits.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        if (bits[i]! & (0x80 >> bit)) types.push(window * 256 + i * 8 + bit);
      }
    }
    lastWindow = window;
  }
}

/** RFC 5155 §3.2: hash algorithm, flags, iterations, salt, next hashed owner, type bit maps. */
function readNsec3(r: WireReader): DnsRdata {
  const rd = {
    kind: 'nsec3' as const,
    hash: 0,
    flags: 0,
    iterations: 0,
    salt: '',
    nextHashed: '',
    types: [] as number[],
  };
  if (!readNsec3Common(r, rd) || r.atEnd()) return rd;
  const hashLength = r.u8();
  rd.nextHashed = base32Hex(r.bytes(hashLength));
  readTypeBitmap(r, rd.types);
  return rd;
}

/** RFC 5155 §4.2: the NSEC3 parameters of the zone. */
function readNsec3Param(r: WireReader): DnsRdata {
  const rd = { kind: 'nsec3param' as const, hash: 0, flags: 0, iterations: 0, salt: '' };
  readNsec3Common(r, rd);
  return rd;
}

/** The fields NSEC3 and NSEC3PARAM start with; false when the RDATA ended before the salt. */
function readNsec3Common(
  r: WireReader,
  rd: { hash: number; flags: number; iterations: number; salt: string },
): boolean {
  if (r.atEnd()) return false;
  rd.hash = r.u8();
  if (r.atEnd()) return false;
  rd.flags = r.u8();
  if (r.atEnd()) return false;
  rd.iterations = r.u16();
  if (r.atEnd()) return false;
  const saltLength = r.u8();
  rd.salt = r.bytes(saltLength).toString('hex');
  return r.ok();
}

const BASE32_HEX = '0123456789ABCDEFGHIJKLMNOPQRSTUV';

/** RFC 4648 §7 base32hex, upper case and padded, as Go's base32.HexEncoding writes it. */
export function base32Hex(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_HEX[(value >>> (bits - 5)) & 0x1f]!;
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_HEX[(value << (5 - bits)) & 0x1f]!;
  while (out.length % 8 !== 0) out += '=';
  return out;
}

/** RFC 6698 §2.1: usage, selector, matching type, certificate association data. */
function readTlsa(r: WireReader): DnsRdata {
  const rd = { kind: 'tlsa' as const, usage: 0, selector: 0, matchingType: 0, data: '' };
  if (r.atEnd()) return rd;
  rd.usage = r.u8();
  if (r.atEnd()) return rd;
  rd.selector = r.u8();
  if (r.atEnd()) return rd;
  rd.matchingType = r.u8();
  rd.data = r.rest().toString('hex');
  return rd;
}

function readDnskey(r: WireReader): DnsRdata {
  const rd = { kind: 'dnskey' as const, flags: 0, protocol: 0, algorithm: 0, publicKey: '' };
  if (r.atEnd()) return rd;
  rd.flags = r.u16();
  if (r.atEnd()) return rd;
  rd.protocol = r.u8();
  if (r.atEnd()) return rd;
  rd.algorithm = r.u8();
  rd.publicKey = r.rest().toString('base64');
  return rd;
}

function readSvcb(r: WireReader): DnsRdata {
  const rd = { kind: 'svcb' as const, priority: 0, target: '', params: [] as SvcParam[] };
  if (r.atEnd()) return rd;
  rd.priority = r.u16();
  if (r.atEnd()) return rd;
  rd.target = readName(r);
  rd.params = readSvcParams(r);
  return rd;
}

function readCaa(r: WireReader): DnsRdata {
  const rd = { kind: 'caa' as const, flags: 0, tag: '', value: '' };
  if (r.atEnd()) return rd;
  rd.flags = r.u8();
  if (r.atEnd()) return rd;
  rd.tag = readCharString(r);
  const value = r.rest();
  rd.value = escapeOctetString(value, 0, value.length);
  return rd;
}
