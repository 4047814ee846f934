/**
 * DNS numbers and their mnemonics, as miekg/dns v1.1.61 (the version GOST v3 links) prints them:
 * `Type.String()`, `Class.String()`, `OpcodeToString`, `RcodeToString`, and the DNSSEC algorithm and
 * hash names the EDNS printer uses. Values from the IANA DNS parameters registry.
 */

/** RR types that get their own RDATA decoder (RFC 1035 §3.3 and the RFC beside each). */
export const RrType = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  PTR: 12,
  MX: 15,
  HINFO: 13,
  TXT: 16,
  /** RFC 2535 */
  SIG: 24,
  /** RFC 2535 */
  KEY: 25,
  /** RFC 3596 */
  AAAA: 28,
  /** RFC 1876 */
  LOC: 29,
  /** RFC 2782 */
  SRV: 33,
  /** RFC 3403 */
  NAPTR: 35,
  /** RFC 6672 */
  DNAME: 39,
  /** RFC 6891 */
  OPT: 41,
  /** RFC 4034 */
  DS: 43,
  /** RFC 4255 */
  SSHFP: 44,
  RRSIG: 46,
  NSEC: 47,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  DNSKEY: 48,
  /** RFC 7344 */
  CDS: 59,
  CDNSKEY: 60,
  /** RFC 9460 */
  SVCB: 64,
  HTTPS: 65,
  /** RFC 7208 */
  SPF: 99,
  ANY: 255,
  /** RFC 8659 */
  CAA: 257,
  AVC: 258,
  TA: 32768,
  /** RFC 4431 */
  DLV: 32769,
} as const;

/** miekg's `TypeToString`; anything else prints as `TYPE<n>`. */
const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'None'],
  [1, 'A'],
  [2, 'NS'],
  [3, 'MD'],
  [4, 'MF'],
  [5, 'CNAME'],
  [6, 'SOA'],
  [7, 'MB'],
  [8, 'MG'],
  [9, 'MR'],
  [10, 'NULL'],
  [12, 'PTR'],
  [13, 'HINFO'],
  [14, 'MINFO'],
  [15, 'MX'],
  [16, 'TXT'],
  [17, 'RP'],
  [18, 'AFSDB'],
  [19, 'X25'],
  [20, 'ISDN'],
  [21, 'RT'],
  [23, 'NSAP-PTR'],
  [24, 'SIG'],
  [25, 'KEY'],
  [26, 'PX'],
  [27, 'GPOS'],
  [28, 'AAAA'],
  [29, 'LOC'],
  [30, 'NXT'],
  [31, 'EID'],
  [32, 'NIMLOC'],
  [33, 'SRV'],
  [34, 'ATMA'],
  [35, 'NAPTR'],
  [36, 'KX'],
  [37, 'CERT'],
  [39, 'DNAME'],
  [41, 'OPT'],
  [42, 'APL'],
  [43, 'DS'],
  [44, 'SSHFP'],
  [45, 'IPSECKEY'],
  [46, 'RRSIG'],
  [47, 'NSEC'],
  [48, 'DNSKEY'],
  [49, 'DHCID'],
  [50, 'NSEC3'],
  [51, 'NSEC3PARAM'],
  [52, 'TLSA'],
  [53, 'SMIMEA'],
  [55, 'HIP'],
  [56, 'NINFO'],
  [57, 'RKEY'],
  [58, 'TALINK'],
  [59, 'CDS'],
  [60, 'CDNSKEY'],
  [61, 'OPENPGPKEY'],
  [62, 'CSYNC'],
  [63, 'ZONEMD'],
  [64, 'SVCB'],
  [65, 'HTTPS'],
  [99, 'SPF'],
  [100, 'UINFO'],
  [101, 'UID'],
  [102, 'GID'],
  [103, 'UNSPEC'],
  [104, 'NID'],
  [105, 'L32'],
  [106, 'L64'],
  [107, 'LP'],
  [108, 'EUI48'],
  [109, 'EUI64'],
  [249, 'TKEY'],
  [250, 'TSIG'],
  [251, 'IXFR'],
  [252, 'AXFR'],
  [253, 'MAILB'],
  [254, 'MAILA'],
  [255, 'ANY'],
  [256, 'URI'],
  [257, 'CAA'],
  [258, 'AVC'],
  [260, 'AMTRELAY'],
  [32768, 'TA'],
  [32769, 'DLV'],
  [65535, 'Reserved'],
]);

/**
 * Types miekg has an RR struct for (`TypeToRR`). An RR of any other type is printed the RFC 3597
 * way, header included: `name ttl CLASS<n> TYPE<n> \# len hex`.
 */
const MIEKG_RR_TYPES: ReadonlySet<number> = new Set([
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29,
  30, 31, 32, 33, 35, 36, 37, 39, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 56, 57,
  58, 59, 60, 61, 62, 63, 64, 65, 99, 100, 101, 102, 104, 105, 106, 107, 108, 109, 249, 250, 255,
  256, 257, 258, 260, 32768, 32769,
]);

/** miekg's `ClassToString`. `ANY` is also a type name, so miekg prints class 255 as `CLASS255`. */
const CLASS_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'IN'],
  [2, 'CS'],
  [3, 'CH'],
  [4, 'HS'],
  [254, 'NONE'],
]);

/** RFC 1035 §4.1.1, RFC 1996 (NOTIFY), RFC 2136 (UPDATE). */
export const Opcode = { Query: 0, IQuery: 1, Status: 2, Notify: 4, Update: 5 } as const;

const OPCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [Opcode.Query, 'QUERY'],
  [Opcode.IQuery, 'IQUERY'],
  [Opcode.Status, 'STATUS'],
  [Opcode.Notify, 'NOTIFY'],
  [Opcode.Update, 'UPDATE'],
]);

/** miekg's `RcodeToString` (16 is BADVERS for EDNS and BADSIG for TSIG; miekg says BADSIG). */
const RCODE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'NOERROR'],
  [1, 'FORMERR'],
  [2, 'SERVFAIL'],
  [3, 'NXDOMAIN'],
  [4, 'NOTIMP'],
  [5, 'REFUSED'],
  [6, 'YXDOMAIN'],
  [7, 'YXRRSET'],
  [8, 'NXRRSET'],
  [9, 'NOTAUTH'],
  [10, 'NOTZONE'],
  [16, 'BADSIG'],
  [17, 'BADKEY'],
  [18, 'BADTIME'],
  [19, 'BADMODE'],
  [20, 'BADNAME'],
  [21, 'BADALG'],
  [22, 'BADTRUNC'],
  [23, 'BADCOOKIE'],
]);

/** DNSSEC algorithm numbers (RFC 8624), as miekg's `AlgorithmToString`. */
export const DNSSEC_ALGORITHM_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'RSAMD5'],
  [2, 'DH'],
  [3, 'DSA'],
  [5, 'RSASHA1'],
  [6, 'DSA-NSEC3-SHA1'],
  [7, 'RSASHA1-NSEC3-SHA1'],
  [8, 'RSASHA256'],
  [10, 'RSASHA512'],
  [12, 'ECC-GOST'],
  [13, 'ECDSAP256SHA256'],
  [14, 'ECDSAP384SHA384'],
  [15, 'ED25519'],
  [16, 'ED448'],
  [252, 'INDIRECT'],
  [253, 'PRIVATEDNS'],
  [254, 'PRIVATEOID'],
]);

/** DS digest types, as miekg's `HashToString` (used for the DHU and N3U EDNS options). */
export const DNSSEC_HASH_NAMES: ReadonlyMap<number, string> = new Map([
  [1, 'SHA1'],
  [2, 'SHA256'],
  [3, 'GOST94'],
  [4, 'SHA384'],
  [5, 'SHA512'],
]);

/** Extended DNS error info codes 0–24 (RFC 8914 §4), as miekg's `ExtendedErrorCodeToString`. */
export const EDE_NAMES: readonly string[] = [
  'Other',
  'Unsupported DNSKEY Algorithm',
  'Unsupported DS Digest Type',
  'Stale Answer',
  'Forged Answer',
  'DNSSEC Indeterminate',
  'DNSSEC Bogus',
  'Signature Expired',
  'Signature Not Yet Valid',
  'DNSKEY Missing',
  'RRSIGs Missing',
  'No Zone Key Bit Set',
  'NSEC Missing',
  'Cached Error',
  'Not Ready',
  'Blocked',
  'Censored',
  'Filtered',
  'Prohibited',
  'Stale NXDOMAIN Answer',
  'Not Authoritative',
  'Not Supported',
  'No Reachable Authority',
  'Network Error',
  'Invalid Data',
];

export function typeToString(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}

export function classToString(cls: number): string {
  return CLASS_NAMES.get(cls) ?? `CLASS${cls}`;
}

/** True when miekg would decode this type itself rather than as an RFC 3597 blob. */
export function isMiekgKnownType(type: number): boolean {
  return MIEKG_RR_TYPES.has(type);
}

/** '' for opcodes miekg has no name for (a Go map miss). */
export function opcodeToString(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? '';
}

/** '' for rcodes miekg has no name for (a Go map miss). */
export function rcodeToString(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? '';
}
