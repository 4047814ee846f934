/**
 * DNS over UDP (RFC 1035 §4.2.1) and mDNS (RFC 6762): each datagram is one message, handed to the
 * flow's exchange table; the flow's end emits the queries never answered.
 */
import type { DatagramSniffer, Side, SniffContext } from '../sniffer.ts';
import { DnsExchangeTable } from './dns-exchange-table.ts';

export class DnsDatagramSniffer implements DatagramSniffer {
  readonly #table: DnsExchangeTable;

  constructor(ctx: SniffContext) {
    this.#table = new DnsExchangeTable(ctx, 'udp');
  }

  datagram(side: Side, data: Buffer): void {
    this.#table.message(side, data, data.length);
  }

  end(): void {
    this.#table.flush();
  }
}
