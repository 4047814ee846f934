/**
 * One sniffed flow: the SniffContext its sniffers see, and the facts its records carry.
 *
 * A session exists only for flows that carried payload worth sniffing; a SYN scan or an unknown
 * UDP flow never gets one, so the cost of a flood stays in the flow table.
 */
import type { RecordUnit } from '../record/record-types.ts';
import type { TcpReassembler } from '../reassembly/tcp-reassembler.ts';
import type {
  ConnectionEndpoints,
  DatagramSniffer,
  SniffConfig,
  SniffContext,
  Timestamp,
} from './sniffer.ts';

/** Where a session sends what its sniffers produce. */
export interface SessionOwner {
  emitUnit(session: SniffSession, unit: RecordUnit): void;
  parseError(proto: string, code: string): void;
}

export class SniffSession implements SniffContext {
  readonly config: SniffConfig;
  readonly endpoints: ConnectionEndpoints;
  /** Flow table slot while the flow lives. */
  readonly slot: number;
  readonly firstSeen: Timestamp;
  /** Time of the packet being processed (seconds, nanoseconds). */
  nowSec: number;
  nowNsec: number;
  tcp: TcpReassembler | null = null;
  datagrams: DatagramSniffer | null = null;
  unitsEmitted = 0;
  /** Set once the first record needs them. */
  sid = '';
  communityId = '';
  readonly #owner: SessionOwner;
  /** The last `now()` handed out: Timestamps are immutable, so callers at one time share it. */
  #now: Timestamp | null = null;

  constructor(
    owner: SessionOwner,
    config: SniffConfig,
    endpoints: ConnectionEndpoints,
    slot: number,
    first: Timestamp,
  ) {
    this.#owner = owner;
    this.config = config;
    this.endpoints = endpoints;
    this.slot = slot;
    this.firstSeen = first;
    this.nowSec = first.sec;
    this.nowNsec = first.nsec;
  }

  now(): Timestamp {
    const t = this.#now;
    if (t !== null && t.sec === this.nowSec && t.nsec === this.nowNsec) return t;
    return (this.#now = { sec: this.nowSec, nsec: this.nowNsec });
  }

  emit(unit: RecordUnit): void {
    this.unitsEmitted++;
    this.#owner.emitUnit(this, unit);
  }

  parseError(proto: string, code: string): void {
    this.#owner.parseError(proto, code);
  }
}
