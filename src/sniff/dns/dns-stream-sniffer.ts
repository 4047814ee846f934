/**
 * DNS over TCP (RFC 7766): one length-prefix framer per side feeding the connection's exchange
 * table. Queries and responses may be pipelined and answered out of order (RFC 7766 §6.2.1.1); the
 * table pairs them by id and question.
 *
 * A gap makes the framing unrecoverable, so that side stops (`wants` false) and the gap is counted
 * as `stream_gap`; a side that ends inside a message counts `truncated_message`. Queries still
 * waiting are emitted unanswered once both sides have ended.
 */
import { Side, type SniffContext, type StreamSniffer } from '../sniffer.ts';
import { DnsExchangeTable } from './dns-exchange-table.ts';
import { DnsTcpFramer } from './dns-tcp-framer.ts';

const PROTO = 'dns';

export class DnsStreamSniffer implements StreamSniffer {
  readonly #ctx: SniffContext;
  readonly #table: DnsExchangeTable;
  readonly #framers: readonly [DnsTcpFramer, DnsTcpFramer];
  readonly #ended = [false, false];

  constructor(ctx: SniffContext) {
    this.#ctx = ctx;
    const table = new DnsExchangeTable(ctx, 'tcp');
    this.#table = table;
    this.#framers = [
      new DnsTcpFramer((msg, wireBytes) => {
        table.message(Side.Client, msg, wireBytes);
      }),
      new DnsTcpFramer((msg, wireBytes) => {
        table.message(Side.Server, msg, wireBytes);
      }),
    ];
  }

  data(side: Side, data: Buffer): void {
    this.#framers[side].push(data);
  }

  gap(side: Side, bytes: number): void {
    const framer = this.#framers[side];
    if (framer.stopped || bytes <= 0) return;
    this.#ctx.parseError(PROTO, 'stream_gap');
    framer.stop();
  }

  end(side: Side): void {
    if (this.#ended[side]) return;
    this.#ended[side] = true;
    const framer = this.#framers[side];
    if (!framer.stopped && framer.midMessage) this.#ctx.parseError(PROTO, 'truncated_message');
    framer.stop();
    if (this.#ended[Side.Client] && this.#ended[Side.Server]) this.#table.flush();
  }

  wants(side: Side): boolean {
    return !this.#framers[side].stopped;
  }
}
