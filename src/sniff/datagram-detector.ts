/**
 * Which sniffer a UDP flow gets, from its first payload: QUIC Initial by content on any port, DNS
 * on the configured DNS ports (53, 5353, 5355 by default) when the payload parses as a DNS
 * message. Everything else is not sniffed.
 */
import { DnsDatagramSniffer, looksLikeDnsMessage } from './dns/dns-sniffer.ts';
import { looksLikeQuicInitial } from './quic/quic-detect.ts';
import { QuicInitialSniffer } from './quic/quic-initial-sniffer.ts';
import type { DatagramSniffer, SniffContext } from './sniffer.ts';

export type DatagramSnifferFactory = (ctx: SniffContext) => DatagramSniffer;

const dns: DatagramSnifferFactory = (ctx) => new DnsDatagramSniffer(ctx);
const quic: DatagramSnifferFactory = (ctx) => new QuicInitialSniffer(ctx);

export function classifyDatagram(
  payload: Buffer,
  clientPort: number,
  serverPort: number,
  dnsPorts: readonly number[],
): DatagramSnifferFactory | null {
  const dnsPort = dnsPorts.includes(serverPort) || dnsPorts.includes(clientPort);
  if (dnsPort && looksLikeDnsMessage(payload)) {
    return dns;
  }
  if (looksLikeQuicInitial(payload)) return quic;
  return null;
}
