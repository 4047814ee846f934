/**
 * IP addresses as Go's `net.IP.String()` prints them (which is what miekg shows): dotted quad, and
 * RFC 5952 IPv6 (lowercase, no leading zeros, the first longest run of two or more zero groups as
 * `::`). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) prints as its IPv4 address.
 */

export function ipv4Text(buf: Buffer, off: number): string {
  return `${buf[off]!}.${buf[off + 1]!}.${buf[off + 2]!}.${buf[off + 3]!}`;
}

/** True for `::ffff:a.b.c.d` (Go's `To4() != nil` on a 16-byte address). */
export function isIpv4Mapped(buf: Buffer, off: number): boolean {
  for (let i = 0; i < 10; i++) if (buf[off + i] !== 0) return false;
  return buf[off + 10] === 0xff && buf[off + 11] === 0xff;
}

const IPV6_GROUPS = 8;

/** Go's `net.IP.String()` of the 16 bytes at `off`. */
export function ipv6Text(buf: Buffer, off: number): string {
  if (isIpv4Mapped(buf, off)) return ipv4Text(buf, off + 12);
  // Longest run of zero groups; Go compresses only runs of two or more, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let g = 0; g < IPV6_GROUPS;) {
    if (buf.readUInt16BE(off + 2 * g) !== 0) {
      g++;
      continue;
    }
    let e = g;
    while (e < IPV6_GROUPS && buf.readUInt16BE(off + 2 * e) === 0) e++;
    if (e - g > bestLen) {
      bestStart = g;
      bestLen = e - g;
    }
    g = e;
  }
  const groups: string[] = [];
  for (let g = 0; g < IPV6_GROUPS; g++) groups.push(buf.readUInt16BE(off + 2 * g).toString(16));
  if (bestStart < 0) return groups.join(':');
  return `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLen).join(':')}`;
}
