/**
 * Which capture worker owns a frame, when the main thread has to decide (the libpcap engine; the
 * af-packet engine lets the kernel's fanout hash decide).
 *
 * The hash covers the IP address pair and the IP protocol, never ports: later IP fragments carry no
 * ports, and they must reach the worker that holds their flow. It is symmetric (both directions of
 * a flow hash alike) because the two addresses are hashed in sorted order, with murmur3's block mix
 * and its fmix32 finaliser; IPv6 addresses are hashed whole.
 *
 * The protocol is the IPv4 header's; for IPv6 it is the first Next Header that is not a
 * Hop-by-Hop, Routing, Destination Options, Mobility or AH header, except that a Fragment header
 * ends the walk with its own Next Header value, which every fragment of a datagram carries. (A
 * fragmented datagram with a Destination Options header after the Fragment header therefore hashes
 * apart from unfragmented packets of its flow; all its fragments still hash together.)
 *
 * Only as much is parsed as the hash needs; frames that are not IP, or are cut before the addresses
 * (or, for IPv6, before the protocol), hash to 0. Nothing is allocated per call.
 */
import { EtherType, LinkType } from '../decode/link-types.ts';
import { fmix32 } from './hash-mix.ts';

const MAX_VLAN_TAGS = 4;
const MAX_IPV6_EXT_HEADERS = 8;

// BSD loopback address families (DLT_NULL / DLT_LOOP); AF_INET6 differs between systems.
const AF_INET = 2;

const SEED_V4 = 0x6b43a9b5;
const SEED_V6 = 0x2f8e61c3;

/** murmur3_32 block step: mixes the 32-bit word `k` into `h`. */
function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * Symmetric hash (u32) of the frame's IP address pair and IP protocol, or 0 when the frame at
 * `data[offset .. offset + capLen)` is not IP or is too short.
 */
export function flowAffinityHash(
  data: Buffer,
  offset: number,
  capLen: number,
  linkType: number,
): number {
  const end = Math.min(offset + capLen, data.length);
  switch (linkType) {
    case LinkType.Ethernet:
      if (offset + 14 > end) return 0;
      return etherType(data, offset + 14, end, (data[offset + 12]! << 8) | data[offset + 13]!);
    case LinkType.LinuxSll:
      if (offset + 16 > end) return 0;
      return etherType(data, offset + 16, end, (data[offset + 14]! << 8) | data[offset + 15]!);
    case LinkType.LinuxSll2:
      if (offset + 20 > end) return 0;
      return etherType(data, offset + 20, end, (data[offset]! << 8) | data[offset + 1]!);
    case LinkType.Raw:
    case LinkType.RawOpenBsd:
    case LinkType.RawBsdOs:
      if (offset >= end) return 0;
      return ipByVersion(data, offset, end);
    case LinkType.Ipv4:
      return ipv4(data, offset, end);
    case LinkType.Ipv6:
      return ipv6(data, offset, end);
    case LinkType.Null:
    case LinkType.Loop: {
      if (offset + 4 > end) return 0;
      // Host byte order (NULL) or network order (LOOP): whichever end is non-zero.
      const be = data.readUInt32BE(offset);
      const family = be > 0xffff ? data.readUInt32LE(offset) : be;
      if (family === AF_INET) return ipv4(data, offset + 4, end);
      // AF_INET6: Linux 10, FreeBSD 28, Darwin 30, NetBSD/OpenBSD 24.
      if (family === 10 || family === 24 || family === 28 || family === 30) {
        return ipv6(data, offset + 4, end);
      }
      return 0;
    }
    default:
      return 0;
  }
}

/** The worker (0 .. workers - 1) that owns frames of this hash. */
export function workerFor(hash: number, workers: number): number {
  return workers > 1 ? (hash >>> 0) % workers : 0;
}

/** Ethertype dispatch through up to MAX_VLAN_TAGS 802.1Q / 802.1ad tags. */
function etherType(data: Buffer, pos: number, end: number, type: number): number {
  for (
    let tags = 0;
    type === EtherType.Vlan || type === EtherType.QinQ || type === EtherType.QinQOld;
    tags++
  ) {
    if (tags === MAX_VLAN_TAGS || pos + 4 > end) return 0;
    type = (data[pos + 2]! << 8) | data[pos + 3]!;
    pos += 4;
  }
  if (type === EtherType.Ipv4) return ipv4(data, pos, end);
  if (type === EtherType.Ipv6) return ipv6(data, pos, end);
  return 0;
}

function ipByVersion(data: Buffer, pos: number, end: number): number {
  const version = data[pos]! >> 4;
  if (version === 4) return ipv4(data, pos, end);
  if (version === 6) return ipv6(data, pos, end);
  return 0;
}

/** RFC 791 §3.1: protocol at 9, source at 12, destination at 16. */
function ipv4(data: Buffer, pos: number, end: number): number {
  if (pos + 20 > end) return 0;
  const vihl = data[pos]!;
  if (vihl >> 4 !== 4 || (vihl & 0x0f) < 5) return 0;
  const a = data.readUInt32BE(pos + 12);
  const b = data.readUInt32BE(pos + 16);
  let h = SEED_V4;
  h = mix(h, a < b ? a : b);
  h = mix(h, a < b ? b : a);
  h = mix(h, data[pos + 9]!);
  return fmix32(h ^ 12);
}

/** RFC 8200 §3: source at 8, destination at 24; the protocol from the header chain (§4). */
function ipv6(data: Buffer, pos: number, end: number): number {
  if (pos + 40 > end || data[pos]! >> 4 !== 6) return 0;
  const proto = ipv6Protocol(data, pos, end);
  if (proto < 0) return 0;
  let lo = pos + 8;
  let hi = pos + 24;
  for (let i = 0; i < 16; i += 4) {
    const x = data.readUInt32BE(lo + i);
    const y = data.readUInt32BE(hi + i);
    if (x !== y) {
      if (x > y) {
        lo = pos + 24;
        hi = pos + 8;
      }
      break;
    }
  }
  let h = SEED_V6;
  for (let i = 0; i < 16; i += 4) h = mix(h, data.readUInt32BE(lo + i));
  for (let i = 0; i < 16; i += 4) h = mix(h, data.readUInt32BE(hi + i));
  h = mix(h, proto);
  return fmix32(h ^ 36);
}

/** Upper-layer protocol (or a Fragment header's Next Header), or -1 when cut or too long. */
function ipv6Protocol(data: Buffer, pos: number, end: number): number {
  let next = data[pos + 6]!;
  let cur = pos + 40;
  for (let i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
    switch (next) {
      case 0: // Hop-by-Hop Options
      case 43: // Routing
      case 60: // Destination Options
      case 135: // Mobility
        if (cur + 2 > end) return -1;
        next = data[cur]!;
        cur += (data[cur + 1]! + 1) * 8;
        continue;
      case 51: // Authentication Header: length in 4-octet units minus 2 (RFC 4302 §2.2)
        if (cur + 2 > end) return -1;
        next = data[cur]!;
        cur += (data[cur + 1]! + 2) * 4;
        continue;
      case 44: // Fragment (RFC 8200 §4.5): the same Next Header in every fragment
        if (cur + 1 > end) return -1;
        return data[cur]!;
      default:
        return next;
    }
  }
  return -1;
}
