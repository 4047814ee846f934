/**
 * RDATA in presentation form, as the part of miekg/dns v1.1.61 `RR.String()` after the header
 * (what dig prints after the type). It is the `data` of a structured answer and the tail of each
 * RR line of the text dump.
 */
import { typeToString } from './dns-constants.ts';
import { optText } from './dns-edns-text.ts';
import type { DnsResourceRecord } from './dns-message.ts';
import type { DnsRdata } from './dns-rdata.ts';
import { svcKeyName } from './dns-svcb.ts';

export function rdataText(rr: DnsResourceRecord): string {
  const d = rr.data;
  switch (d.kind) {
    case 'a':
    case 'aaaa':
      return d.address;
    case 'name':
      return d.target;
    case 'mx':
      return `${d.preference} ${d.exchange}`;
    case 'txt':
      return d.strings.map((s) => `"${s}"`).join(' ');
    case 'soa':
      return `${d.mname} ${d.rname} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case 'srv':
      return `${d.priority} ${d.weight} ${d.port} ${d.target}`;
    case 'naptr':
      return `${d.order} ${d.preference} "${d.flags}" "${d.services}" "${d.regexp}" ${d.replacement}`;
    case 'loc':
      return locText(d);
    case 'ds':
      return `${d.keyTag} ${d.algorithm} ${d.digestType} ${d.digest.toUpperCase()}`;
    case 'sshfp':
      return `${d.algorithm} ${d.fpType} ${d.fingerprint.toUpperCase()}`;
    case 'rrsig':
      return (
        `${typeToString(d.typeCovered)} ${d.algorithm} ${d.labels} ${d.originalTtl} ` +
        `${signatureTime(d.expiration)} ${signatureTime(d.inception)} ${d.keyTag} ` +
        `${d.signerName} ${d.signature}`
      );
    case 'nsec':
      return d.nextName + typeList(d.types);
    case 'nsec3':
      return (
        `${d.hash} ${d.flags} ${d.iterations} ${saltText(d.salt)} ${d.nextHashed}` +
        typeList(d.types)
      );
    case 'nsec3param':
      return `${d.hash} ${d.flags} ${d.iterations} ${saltText(d.salt)}`;
    case 'tlsa':
      return `${d.usage} ${d.selector} ${d.matchingType} ${d.data}`;
    case 'dnskey':
      return `${d.flags} ${d.protocol} ${d.algorithm} ${d.publicKey}`;
    case 'svcb':
      return (
        `${d.priority} ${d.target}` +
        d.params.map((p) => ` ${svcKeyName(p.key)}="${p.value}"`).join('')
      );
    case 'opt':
      return optText(rr);
    case 'caa':
      return `${d.flags} ${d.tag} "${d.value}"`;
    case 'any':
      return '';
    case 'unknown':
      return `\\# ${d.hex.length / 2} ${d.hex}`;
  }
}

/** ` TYPE TYPE …` of an NSEC/NSEC3 type bit map. */
function typeList(types: readonly number[]): string {
  return types.map((t) => ` ${typeToString(t)}`).join('');
}

/** miekg's saltToString: `-` for no salt, else the hex in upper case. */
function saltText(hex: string): string {
  return hex === '' ? '-' : hex.toUpperCase();
}

/**
 * RFC 4034 §3.2: `YYYYMMDDHHmmSS` in UTC. miekg applies RFC 1982 serial arithmetic around the
 * current time, which for any 32-bit value and any date before 2106 is the plain reading.
 */
function signatureTime(t: number): string {
  const d = new Date(t * 1000);
  return (
    String(d.getUTCFullYear()) +
    pad2(d.getUTCMonth() + 1) +
    pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) +
    pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds())
  );
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** RFC 1876 §2 reference points: 2^31 is the equator / prime meridian, altitudes from -100 km. */
const LOC_EQUATOR = 2 ** 31;
const LOC_PRIME_MERIDIAN = 2 ** 31;
const LOC_MS_PER_MINUTE = 60 * 1000;
const LOC_MS_PER_DEGREE = 60 * LOC_MS_PER_MINUTE;
const LOC_ALTITUDE_BASE_M = 100000;
const CM_PER_M = 100;

/** miekg's `LOC.String()`: `52 22 23.000 N 4 53 32.000 E -2.00m 1m 10000m 10m`. */
function locText(d: Extract<DnsRdata, { kind: 'loc' }>): string {
  let s = angle(d.latitude, LOC_EQUATOR, 'N', 'S');
  s += angle(d.longitude, LOC_PRIME_MERIDIAN, 'E', 'W');
  const alt = d.altitude / CM_PER_M - LOC_ALTITUDE_BASE_M;
  s += d.altitude % CM_PER_M !== 0 ? `${alt.toFixed(2)}m ` : `${alt.toFixed(0)}m `;
  return `${s}${sizeText(d.size)}m ${sizeText(d.horizPre)}m ${sizeText(d.vertPre)}m`;
}

/** Thousandths of an arc second from `origin`, as `DD MM SS.sss H `. */
function angle(value: number, origin: number, positive: string, negative: string): string {
  let v: number;
  let hemisphere: string;
  if (value > origin) {
    v = value - origin;
    hemisphere = positive;
  } else {
    v = origin - value;
    hemisphere = negative;
  }
  const degrees = Math.floor(v / LOC_MS_PER_DEGREE);
  v %= LOC_MS_PER_DEGREE;
  const minutes = Math.floor(v / LOC_MS_PER_MINUTE);
  v %= LOC_MS_PER_MINUTE;
  return `${pad2(degrees)} ${pad2(minutes)} ${(v / 1000).toFixed(3)} ${hemisphere} `;
}

/** RFC 1876 §2 SIZE/HORIZ PRE/VERT PRE: mantissa × 10^exponent cm, printed in metres. */
function sizeText(x: number): string {
  let m = x >> 4;
  const e = x & 0xf;
  if (e < 2) {
    if (e === 1) m *= 10;
    return `0.${pad2(m)}`;
  }
  return String(m) + '0'.repeat(e - 2);
}
