/**
 * Community ID v1 flow hashing (https://github.com/corelight/community-id-spec), the id Zeek,
 * Suricata, Wireshark and Elastic put on flows so records from different tools can be joined.
 *
 *   "1:" + base64(sha1(seed:2 . addrA . addrB . proto:1 . 0:1 . portA:2 . portB:2))
 *
 * All fields are big-endian. The endpoints are ordered so the numerically smaller address (then
 * port) comes first, which gives both directions of a flow the same id. Ports are hashed for TCP,
 * UDP, SCTP, ICMP and ICMPv6 only. ICMP types and codes stand in for ports as Zeek maps them: a
 * request/reply type pairs with its counterpart type (echo 8 ↔ reply 0), which keeps both
 * directions together; any other type is one-way, hashed as (type, code) without reordering.
 */
import { hash } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';

/** IANA protocol numbers the algorithm treats specially. */
export const IpProto = { Icmp: 1, Tcp: 6, Udp: 17, Icmpv6: 58, Sctp: 132 } as const;

const VERSION_PREFIX = '1:';
const IPV4_LEN = 4;
const IPV6_LEN = 16;
const IPV6_GROUPS = 8;
const HEX = 16;
/** seed (2) + two IPv6 addresses + proto and padding (2) + two ports (4). */
const MAX_INPUT_LEN = 2 + 2 * IPV6_LEN + 2 + 4;

/** Protocols whose ports (or ICMP type/code) are part of the hash. */
const PORT_PROTOS: ReadonlySet<number> = new Set(Object.values(IpProto));

// Zeek's ICMP counterpart types (ICMP4_counterpart / ICMP6_counterpart in Zeek's ICMP.cc).
const ICMP4_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [8, 0], // echo ↔ echo reply
  [0, 8],
  [13, 14], // timestamp ↔ timestamp reply
  [14, 13],
  [15, 16], // information request ↔ reply
  [16, 15],
  [10, 9], // router solicitation ↔ advertisement
  [9, 10],
  [17, 18], // address mask request ↔ reply
  [18, 17],
]);
const ICMP6_COUNTERPART: ReadonlyMap<number, number> = new Map([
  [128, 129], // echo request ↔ reply
  [129, 128],
  [130, 131], // MLD listener query ↔ report
  [131, 130],
  [133, 134], // router solicitation ↔ advertisement
  [134, 133],
  [135, 136], // neighbor solicitation ↔ advertisement
  [136, 135],
  [139, 140], // node information query ↔ reply ("who are you")
  [140, 139],
  [144, 145], // home agent address discovery request ↔ reply
  [145, 144],
]);

/** Reused hash input (callers are synchronous). */
const input = Buffer.alloc(MAX_INPUT_LEN);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Community ID of a flow given raw network-order addresses (4 or 16 bytes each, same family). For
 * ICMP (1) and ICMPv6 (58) pass the message type as `srcPort` and the code as `dstPort`. Ports of
 * protocols without ports are ignored. Throws RangeError on mismatched addresses or a port or seed
 * outside 0…65535.
 */
export function communityIdFromBytes(
  proto: number,
  srcAddr: Uint8Array,
  srcPort: number,
  dstAddr: Uint8Array,
  dstPort: number,
  seed = 0,
): string {
  const addrLen = srcAddr.length;
  if (addrLen !== dstAddr.length || (addrLen !== IPV4_LEN && addrLen !== IPV6_LEN)) {
    throw new RangeError('community-id: addresses must both be IPv4 or both IPv6');
  }
  let sport = srcPort;
  let dport = dstPort;
  let oneWay = false;
  const counterparts =
    proto === IpProto.Icmp
      ? ICMP4_COUNTERPART
      : proto === IpProto.Icmpv6
        ? ICMP6_COUNTERPART
        : null;
  if (counterparts) {
    const peer = counterparts.get(srcPort);
    if (peer === undefined) oneWay = true;
    else dport = peer;
  }
  let a = srcAddr;
  let b = dstAddr;
  const order = compareBytes(srcAddr, dstAddr);
  if (!oneWay && (order > 0 || (order === 0 && sport > dport))) {
    a = dstAddr;
    b = srcAddr;
    [sport, dport] = [dport, sport];
  }
  let off = input.writeUInt16BE(seed, 0);
  input.set(a, off);
  input.set(b, off + addrLen);
  off += 2 * addrLen;
  input[off++] = proto;
  input[off++] = 0;
  if (PORT_PROTOS.has(proto)) {
    off = input.writeUInt16BE(sport, off);
    off = input.writeUInt16BE(dport, off);
  }
  return VERSION_PREFIX + hash('sha1', input.subarray(0, off), 'base64');
}

function parseIpv6Groups(text: string, out: Uint8Array, groupOffset: number): void {
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (g.includes('.')) {
      // Embedded dotted IPv4 tail (`::ffff:1.2.3.4`): the last two groups.
      out.set(parseIpv4(g), (groupOffset + i) * 2);
    } else {
      const v = parseInt(g, HEX);
      out[(groupOffset + i) * 2] = v >>> 8;
      out[(groupOffset + i) * 2 + 1] = v & 0xff;
    }
  }
}

function parseIpv4(text: string): Uint8Array {
  return Uint8Array.from(text.split('.'), Number);
}

/** Number of 16-bit groups `part` of an IPv6 address spans (a dotted IPv4 tail counts as two). */
function groupCount(part: string): number {
  if (part === '') return 0;
  const n = part.split(':').length;
  return part.includes('.') ? n + 1 : n;
}

/** Network-order bytes of an IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored). */
export function ipToBytes(text: string): Uint8Array {
  if (isIPv4(text)) return parseIpv4(text);
  const zone = text.indexOf('%');
  const addr = zone < 0 ? text : text.slice(0, zone);
  if (!isIPv6(addr)) throw new TypeError(`community-id: not an IP address: ${text}`);
  const out = new Uint8Array(IPV6_LEN);
  const gap = addr.indexOf('::');
  if (gap < 0) {
    parseIpv6Groups(addr, out, 0);
  } else {
    const head = addr.slice(0, gap);
    const tail = addr.slice(gap + 2);
    if (head !== '') parseIpv6Groups(head, out, 0);
    if (tail !== '') parseIpv6Groups(tail, out, IPV6_GROUPS - groupCount(tail));
  }
  return out;
}

/**
 * Community ID of a flow given textual addresses (IPv4 dotted quad or any IPv6 form). Same rules
 * as `communityIdFromBytes`; throws TypeError when an address does not parse.
 */
export function communityId(
  proto: number,
  srcIp: string,
  srcPort: number,
  dstIp: string,
  dstPort: number,
  seed = 0,
): string {
  return communityIdFromBytes(proto, ipToBytes(srcIp), srcPort, ipToBytes(dstIp), dstPort, seed);
}
