/**
 * Which sniffer a UDP flow gets, from its first payload: QUIC Initial by content on any port, DNS
 * on the DNS ports when the payload parses as a DNS message. Everything else is not sniffed.
 */
import { DnsDatagramSniffer, looksLikeDnsMessage } from './dns/dns-sniffer.ts';
import { looksLikeQuicInitial } from './quic/quic-detect.ts';
import { QuicInitialSniffer } from './quic/quic-initial-sniffer.ts';
import type { DatagramSniffer, SniffContext } from './sniffer.ts';

/** DNS, mDNS, LLMNR. */
const DNS_PORTS = new Set([53, 5353, 5355]);

export type DatagramSnifferFactory = (ctx: SniffContext) => DatagramSniffer;

const dns: DatagramSnifferFactory = (ctx) => new DnsDatagramSniffer(ctx);
const quic: DatagramSnifferFactory = (ctx) => new QuicInitialSniffer(ctx);

export function classifyDatagram(
  payload: Buffer,
  clientPort: number,
  serverPort: number,
): DatagramSnifferFactory | null {
  if ((DNS_PORTS.has(serverPort) || DNS_PORTS.has(clientPort)) && looksLikeDnsMessage(payload)) {
    return dns;
  }
  if (looksLikeQuicInitial(payload)) return quic;
  return null;
}
