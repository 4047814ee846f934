/**
 * Why a frame could not be decoded as far as its flow, by stable cause. A frame with a decode problem
 * is still written to pcap (the bytes are evidence); it is only kept out of flow tracking. Truncated
 * (the capture ran out of bytes) is told apart from malformed (an impossible value), as gopacket does.
 */
export const DecodeIssue = {
  None: 0,
  /** Not IP (ARP, LLDP, STP, …): written, counted, no flow. */
  NonIp: 1,
  UnknownLinkType: 2,
  LinkTruncated: 3,
  Ipv4Truncated: 4,
  Ipv4Malformed: 5,
  Ipv6Truncated: 6,
  Ipv6Malformed: 7,
  TcpTruncated: 8,
  TcpMalformed: 9,
  UdpTruncated: 10,
  UdpMalformed: 11,
  TooManyVlanTags: 12,
} as const;
export type DecodeIssue = (typeof DecodeIssue)[keyof typeof DecodeIssue];

/** Metric/summary label for each issue, indexed by its value. */
export const decodeIssueNames: readonly string[] = [
  'none',
  'non_ip',
  'unknown_linktype',
  'link_truncated',
  'ipv4_truncated',
  'ipv4_malformed',
  'ipv6_truncated',
  'ipv6_malformed',
  'tcp_truncated',
  'tcp_malformed',
  'udp_truncated',
  'udp_malformed',
  'too_many_vlan_tags',
];
