/**
 * Link → network → transport decoding into one reused object.
 *
 * `decode()` walks a frame with offsets only: it allocates nothing, keeps no reference to the frame
 * and fills the decoder's own fields (gopacket's DecodingLayerParser idea). Addresses stay in the
 * frame: IPv4 as two uint32 values, IPv6 as offsets of the 16-byte fields in `data`.
 *
 * Lengths that drive the cutoff come from the IP header, not from the capture length, so a frame cut
 * by the snaplen still counts the payload it carried on the wire.
 */
import { EtherType, LinkType } from './link-types.ts';
import { DecodeIssue } from './decode-errors.ts';

/** IP protocol numbers the flow table distinguishes. */
export const IpProto = { Icmp: 1, Tcp: 6, Udp: 17, Icmpv6: 58 } as const;

/** TCP flag bits (RFC 9293 §3.1). */
export const TcpFlag = { Fin: 0x01, Syn: 0x02, Rst: 0x04, Psh: 0x08, Ack: 0x10 } as const;

/** Fragment position of an IP packet. */
export const Frag = { None: 0, First: 1, Later: 2 } as const;
type Frag = (typeof Frag)[keyof typeof Frag];

const MAX_VLAN_TAGS = 4;
const MAX_IPV6_EXT_HEADERS = 8;

// BSD loopback address families (DLT_NULL / DLT_LOOP); AF_INET6 differs between systems.
const AF_INET = 2;
const AF_INET6_VALUES = new Set([10, 24, 28, 30]);

/**
 * The big-endian uint32 at `data[pos .. pos + 4)`, which the caller has bounds-checked. Byte loads
 * rather than Buffer#readUInt32BE: in optimised code the method lookup on a Buffer stays a generic
 * property load plus a call, several times the cost of the arithmetic, twice per packet.
 */
export function readU32BE(data: Buffer, pos: number): number {
  return (
    ((data[pos]! << 24) | (data[pos + 1]! << 16) | (data[pos + 2]! << 8) | data[pos + 3]!) >>> 0
  );
}

export class PacketDecoder {
  /** Outcome of the last decode; `None` means a flow key is available. */
  issue: DecodeIssue = DecodeIssue.None;
  /** 4 or 6 when an IP header was decoded, else 0. */
  ipVersion = 0;
  /** Transport protocol (after IPv6 extension headers). */
  proto = 0;
  /** IPv4 addresses as unsigned 32-bit values. */
  src4 = 0;
  dst4 = 0;
  /** IPv6: offsets of the 16-byte source and destination addresses in the frame's buffer. */
  src6Offset = 0;
  dst6Offset = 0;
  /** 0 when the transport has no ports or they were not captured. */
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  /** TCP sequence and acknowledgement numbers (0 when not TCP or not captured). */
  tcpSeq = 0;
  tcpAck = 0;
  /** Transport payload bytes on the wire (from IP lengths, not the capture length). */
  payloadLen = 0;
  /** Absolute offset of the transport payload in the buffer (may be past the captured bytes). */
  payloadOffset = 0;
  fragment: Frag = Frag.None;
  /** IPv4 identification or IPv6 fragment identification. */
  fragmentId = 0;
  /** Byte offset of this fragment in the original IP payload, and whether more follow. */
  fragmentOffset = 0;
  moreFragments = false;
  vlanTags = 0;

  /**
   * Decodes the frame at `data[offset .. offset + capLen)` of the given link type.
   * @returns `this.issue` (DecodeIssue.None when a flow key is available)
   */
  decode(data: Buffer, offset: number, capLen: number, linkType: number): DecodeIssue {
    this.ipVersion = 0;
    this.proto = 0;
    this.srcPort = 0;
    this.dstPort = 0;
    this.tcpFlags = 0;
    this.payloadLen = 0;
    this.fragment = Frag.None;
    this.vlanTags = 0;
    const end = offset + capLen;
    switch (linkType) {
      case LinkType.Ethernet:
        if (capLen < 14) return (this.issue = DecodeIssue.LinkTruncated);
        return (this.issue = this.#etherType(
          data,
          offset + 14,
          end,
          (data[offset + 12]! << 8) | data[offset + 13]!,
        ));
      case LinkType.LinuxSll:
        if (capLen < 16) return (this.issue = DecodeIssue.LinkTruncated);
        return (this.issue = this.#etherType(
          data,
          offset + 16,
          end,
          (data[offset + 14]! << 8) | data[offset + 15]!,
        ));
      case LinkType.LinuxSll2:
        if (capLen < 20) return (this.issue = DecodeIssue.LinkTruncated);
        return (this.issue = this.#etherType(
          data,
          offset + 20,
          end,
          (data[offset]! << 8) | data[offset + 1]!,
        ));
      case LinkType.Raw:
      case LinkType.RawOpenBsd:
      case LinkType.RawBsdOs:
        return (this.issue = this.#rawIp(data, offset, end));
      case LinkType.Ipv4:
        return (this.issue = this.#ipv4(data, offset, end));
      case LinkType.Ipv6:
        return (this.issue = this.#ipv6(data, offset, end));
      case LinkType.Null:
      case LinkType.Loop: {
        if (capLen < 4) return (this.issue = DecodeIssue.LinkTruncated);
        // The family is in the capturing host's byte order (NULL) or network order (LOOP):
        // accept either by looking at whichever end is non-zero.
        const be = data.readUInt32BE(offset);
        const family = be > 0xffff ? data.readUInt32LE(offset) : be;
        if (family === AF_INET) return (this.issue = this.#ipv4(data, offset + 4, end));
        if (AF_INET6_VALUES.has(family)) return (this.issue = this.#ipv6(data, offset + 4, end));
        return (this.issue = DecodeIssue.NonIp);
      }
      default:
        return (this.issue = DecodeIssue.UnknownLinkType);
    }
  }

  /** Ethertype dispatch with 802.1Q / 802.1ad (QinQ) tags stacked up to MAX_VLAN_TAGS. */
  #etherType(data: Buffer, pos: number, end: number, type: number): DecodeIssue {
    while (type === EtherType.Vlan || type === EtherType.QinQ || type === EtherType.QinQOld) {
      if (++this.vlanTags > MAX_VLAN_TAGS) return DecodeIssue.TooManyVlanTags;
      if (pos + 4 > end) return DecodeIssue.LinkTruncated;
      type = (data[pos + 2]! << 8) | data[pos + 3]!;
      pos += 4;
    }
    if (type === EtherType.Ipv4) return this.#ipv4(data, pos, end);
    if (type === EtherType.Ipv6) return this.#ipv6(data, pos, end);
    return DecodeIssue.NonIp;
  }

  #rawIp(data: Buffer, pos: number, end: number): DecodeIssue {
    if (pos >= end) return DecodeIssue.LinkTruncated;
    const version = data[pos]! >> 4;
    if (version === 4) return this.#ipv4(data, pos, end);
    if (version === 6) return this.#ipv6(data, pos, end);
    return DecodeIssue.NonIp;
  }

  /** RFC 791 §3.1. */
  #ipv4(data: Buffer, pos: number, end: number): DecodeIssue {
    if (pos + 20 > end) return DecodeIssue.Ipv4Truncated;
    const vihl = data[pos]!;
    const ihl = (vihl & 0x0f) * 4;
    if (vihl >> 4 !== 4 || ihl < 20) return DecodeIssue.Ipv4Malformed;
    let totalLen = (data[pos + 2]! << 8) | data[pos + 3]!;
    // TSO/GRO captures carry total length 0 for super-packets: fall back to what was captured.
    if (totalLen === 0) totalLen = end - pos;
    if (totalLen < ihl) return DecodeIssue.Ipv4Malformed;
    if (pos + ihl > end) return DecodeIssue.Ipv4Truncated;
    this.ipVersion = 4;
    this.proto = data[pos + 9]!;
    this.src4 = readU32BE(data, pos + 12);
    this.dst4 = readU32BE(data, pos + 16);
    const flagsFrag = (data[pos + 6]! << 8) | data[pos + 7]!;
    const fragOffset = flagsFrag & 0x1fff;
    const moreFragments = (flagsFrag & 0x2000) !== 0;
    const l4 = pos + ihl;
    const l4Len = totalLen - ihl;
    if (fragOffset !== 0 || moreFragments) {
      this.fragmentId = (data[pos + 4]! << 8) | data[pos + 5]!;
      this.fragment = fragOffset === 0 ? Frag.First : Frag.Later;
      this.fragmentOffset = fragOffset * 8;
      this.moreFragments = moreFragments;
      if (this.fragment === Frag.Later) {
        // No transport header here: all of it is payload of the flow the first fragment opened.
        this.payloadOffset = l4;
        this.payloadLen = l4Len;
        return DecodeIssue.None;
      }
    }
    return this.#transport(data, l4, end, l4Len);
  }

  /** RFC 8200 §3–4: fixed header, then the extension header chain. */
  #ipv6(data: Buffer, pos: number, end: number): DecodeIssue {
    if (pos + 40 > end) return DecodeIssue.Ipv6Truncated;
    if (data[pos]! >> 4 !== 6) return DecodeIssue.Ipv6Malformed;
    let payloadLen = (data[pos + 4]! << 8) | data[pos + 5]!;
    // Jumbograms (RFC 2675) and TSO super-packets: trust the capture.
    if (payloadLen === 0) payloadLen = end - pos - 40;
    this.ipVersion = 6;
    this.src6Offset = pos + 8;
    this.dst6Offset = pos + 24;
    let next = data[pos + 6]!;
    let cur = pos + 40;
    let remaining = payloadLen;
    for (let i = 0; i < MAX_IPV6_EXT_HEADERS; i++) {
      switch (next) {
        case 0: // Hop-by-Hop
        case 43: // Routing
        case 60: // Destination Options
        case 135: {
          // Mobility
          if (cur + 2 > end) return DecodeIssue.Ipv6Truncated;
          const len = (data[cur + 1]! + 1) * 8;
          if (len > remaining) return DecodeIssue.Ipv6Malformed;
          next = data[cur]!;
          cur += len;
          remaining -= len;
          continue;
        }
        case 51: {
          // Authentication Header: length in 4-octet units minus 2 (RFC 4302 §2.2)
          if (cur + 2 > end) return DecodeIssue.Ipv6Truncated;
          const len = (data[cur + 1]! + 2) * 4;
          if (len > remaining) return DecodeIssue.Ipv6Malformed;
          next = data[cur]!;
          cur += len;
          remaining -= len;
          continue;
        }
        case 44: {
          // Fragment header (RFC 8200 §4.5)
          if (cur + 8 > end) return DecodeIssue.Ipv6Truncated;
          if (remaining < 8) return DecodeIssue.Ipv6Malformed;
          const offsetFlags = (data[cur + 2]! << 8) | data[cur + 3]!;
          this.fragmentId = readU32BE(data, cur + 4);
          this.fragmentOffset = (offsetFlags >> 3) * 8;
          this.moreFragments = (offsetFlags & 1) !== 0;
          const later = offsetFlags >> 3 !== 0;
          next = data[cur]!;
          cur += 8;
          remaining -= 8;
          if (later) {
            this.proto = next;
            this.fragment = Frag.Later;
            this.payloadOffset = cur;
            this.payloadLen = remaining;
            return DecodeIssue.None;
          }
          if ((offsetFlags & 1) !== 0) this.fragment = Frag.First;
          continue;
        }
        default:
          this.proto = next;
          return this.#transport(data, cur, end, remaining);
      }
    }
    return DecodeIssue.Ipv6Malformed;
  }

  /** TCP (RFC 9293 §3.1), UDP (RFC 768); other protocols carry their whole length as payload. */
  #transport(data: Buffer, pos: number, end: number, l4Len: number): DecodeIssue {
    const proto = this.proto;
    if (proto === IpProto.Tcp) {
      if (l4Len < 20) return DecodeIssue.TcpMalformed;
      if (pos + 4 > end) return DecodeIssue.TcpTruncated;
      this.srcPort = (data[pos]! << 8) | data[pos + 1]!;
      this.dstPort = (data[pos + 2]! << 8) | data[pos + 3]!;
      if (pos + 14 > end) return DecodeIssue.TcpTruncated;
      const hdrLen = (data[pos + 12]! >> 4) * 4;
      this.tcpFlags = data[pos + 13]!;
      this.tcpSeq = readU32BE(data, pos + 4);
      this.tcpAck = readU32BE(data, pos + 8);
      if (hdrLen < 20 || hdrLen > l4Len) return DecodeIssue.TcpMalformed;
      this.payloadOffset = pos + hdrLen;
      this.payloadLen = l4Len - hdrLen;
      return DecodeIssue.None;
    }
    if (proto === IpProto.Udp) {
      if (l4Len < 8) return DecodeIssue.UdpMalformed;
      if (pos + 8 > end) {
        if (pos + 4 > end) return DecodeIssue.UdpTruncated;
        this.srcPort = (data[pos]! << 8) | data[pos + 1]!;
        this.dstPort = (data[pos + 2]! << 8) | data[pos + 3]!;
        return DecodeIssue.UdpTruncated;
      }
      this.srcPort = (data[pos]! << 8) | data[pos + 1]!;
      this.dstPort = (data[pos + 2]! << 8) | data[pos + 3]!;
      const udpLen = (data[pos + 4]! << 8) | data[pos + 5]!;
      this.payloadOffset = pos + 8;
      if (this.fragment === Frag.First) {
        // The UDP length covers the whole datagram; this fragment carries only its start.
        if (udpLen !== 0 && udpLen < l4Len) return DecodeIssue.UdpMalformed;
        this.payloadLen = l4Len - 8;
        return DecodeIssue.None;
      }
      // A UDP length of 0 is legal for jumbograms; otherwise it must fit the IP payload.
      if (udpLen !== 0 && (udpLen < 8 || udpLen > l4Len)) return DecodeIssue.UdpMalformed;
      this.payloadLen = (udpLen === 0 ? l4Len : udpLen) - 8;
      return DecodeIssue.None;
    }
    // ICMP, ICMPv6, GRE, ESP, SCTP, …: tracked as address pairs without ports.
    this.payloadOffset = pos;
    this.payloadLen = l4Len;
    return DecodeIssue.None;
  }
}
