/**
 * Builders for test frames: small, explicit, and independent of the code under test.
 * Checksums are left zero: tapgate does not verify them (neither does a span-port sensor).
 */
export function ipv4Bytes(a: string): number[] {
  return a.split('.').map(Number);
}

export function ipv6Bytes(a: string): number[] {
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
}

const u16 = (n: number): number[] => [(n >> 8) & 255, n & 255];
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];

export function tcpHeader(
  sport: number,
  dport: number,
  flags: number,
  opts: { seq?: number; ack?: number; options?: number[] } = {},
): number[] {
  const options = opts.options ?? [];
  const hlen = 20 + options.length;
  return [
    ...u16(sport),
    ...u16(dport),
    ...u32(opts.seq ?? 1000),
    ...u32(opts.ack ?? 0),
    (hlen / 4) << 4,
    flags,
    ...u16(65535),
    0,
    0,
    0,
    0,
    ...options,
  ];
}

export function udpHeader(sport: number, dport: number, payloadLen: number): number[] {
  return [...u16(sport), ...u16(dport), ...u16(8 + payloadLen), 0, 0];
}

export function ipv4Header(
  src: string,
  dst: string,
  proto: number,
  l4Len: number,
  opts: { id?: number; fragOffset8?: number; moreFragments?: boolean; options?: number[] } = {},
): number[] {
  const options = opts.options ?? [];
  const ihl = 20 + options.length;
  const ff = ((opts.moreFragments ? 0x2000 : 0) | (opts.fragOffset8 ?? 0)) & 0xffff;
  return [
    0x40 | (ihl / 4),
    0,
    ...u16(ihl + l4Len),
    ...u16(opts.id ?? 1),
    ...u16(ff),
    64,
    proto,
    0,
    0,
    ...ipv4Bytes(src),
    ...ipv4Bytes(dst),
    ...options,
  ];
}

export function ipv6Header(src: string, dst: string, next: number, payloadLen: number): number[] {
  return [0x60, 0, 0, 0, ...u16(payloadLen), next, 64, ...ipv6Bytes(src), ...ipv6Bytes(dst)];
}

export function ethernet(etherType: number, vlans: number[] = []): number[] {
  const tags = vlans.flatMap((tpid, i) => [...u16(tpid), ...u16(100 + i)]);
  return [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, ...tags, ...u16(etherType)];
}

export const payload = (n: number, fill = 0x61): number[] => new Array<number>(n).fill(fill);

export function tcp4(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  flags: number,
  data: number[] = [],
): number[] {
  const t = tcpHeader(sport, dport, flags);
  return [...ethernet(0x0800), ...ipv4Header(src, dst, 6, t.length + data.length), ...t, ...data];
}

export function udp4(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  data: number[],
): number[] {
  const u = udpHeader(sport, dport, data.length);
  return [...ethernet(0x0800), ...ipv4Header(src, dst, 17, u.length + data.length), ...u, ...data];
}

export function tcp6(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  flags: number,
  data: number[] = [],
): number[] {
  const t = tcpHeader(sport, dport, flags);
  return [...ethernet(0x86dd), ...ipv6Header(src, dst, 6, t.length + data.length), ...t, ...data];
}

export const F = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16 } as const;
