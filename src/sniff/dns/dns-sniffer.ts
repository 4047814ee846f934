/**
 * The DNS sniffer's public face for the dispatcher: the UDP and TCP sniffers and the plausibility
 * check that picks them.
 *
 *   UDP payload ─► DnsDatagramSniffer ─┐
 *                                      ├─► DnsExchangeTable ─► parseDnsMessage ─► dnsMessageText
 *   TCP stream ─► DnsStreamSniffer ────┘        (pairs by id + question, emits one record per query)
 *                 (DnsTcpFramer per side)
 */
export { DnsDatagramSniffer } from './dns-datagram-sniffer.ts';
export { looksLikeDnsMessage } from './dns-detect.ts';
export { DnsStreamSniffer } from './dns-stream-sniffer.ts';
