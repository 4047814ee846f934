/** LINKTYPE_* values we decode (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  Null: 0, // BSD loopback: 4-byte address family in the capturing host's byte order
  Ethernet: 1,
  RawOpenBsd: 12, // DLT_RAW on most systems maps to LINKTYPE_RAW (101); 12 and 14 appear in old files
  RawBsdOs: 14,
  Raw: 101,
  Loop: 108, // OpenBSD loopback: address family in network byte order
  LinuxSll: 113,
  LinuxSll2: 276,
  Ipv4: 228,
  Ipv6: 229,
} as const;

const names: Record<number, string> = {
  0: 'null',
  1: 'ethernet',
  12: 'raw',
  14: 'raw',
  101: 'raw',
  108: 'loop',
  113: 'linux_sll',
  276: 'linux_sll2',
  228: 'ipv4',
  229: 'ipv6',
};

/** Short lowercase name for file names and messages; unknown types are `linktype<N>`. */
export function linkTypeName(linkType: number): string {
  return names[linkType] ?? `linktype${linkType}`;
}

/** EtherTypes the decoders look at (802.1Q, 802.1ad and its pre-standard 0x9100 for tags). */
export const EtherType = {
  Ipv4: 0x0800,
  Ipv6: 0x86dd,
  Vlan: 0x8100,
  QinQ: 0x88a8,
  QinQOld: 0x9100,
} as const;
