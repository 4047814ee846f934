/**
 * Per-flow cutoff: which packets of a flow go to pcap.
 *
 * Rule (per flow, or per direction with `perDirection`): a packet is written when, before it, the
 * flow had carried fewer transport payload bytes than `bytes` and fewer packets than `packets`
 * (0 disables a limit). After that only TCP packets with SYN, FIN or RST are written, so every
 * connection still opens and closes in Wireshark.
 *
 * Classes refine the defaults: the first class whose matchers all accept the flow (protocol, a port
 * on either side, an address on either side inside a CIDR) gives the flow its limits. The class is
 * chosen once, when the flow is created.
 */
import { IpProto, TcpFlag, type PacketDecoder } from '../decode/packet-decoder.ts';
import { cidrContains4, cidrContains6, type Cidr } from './cidr.ts';
import type { Dir, FlowTable } from './flow-table.ts';

export interface CutoffLimits {
  /** Transport payload bytes; 0 = unlimited. */
  bytes: number;
  /** Packets; 0 = unlimited. */
  packets: number;
}

export interface PortRange {
  from: number;
  to: number;
}

export interface CutoffClass {
  name: string;
  /** Limits left undefined inherit the defaults. */
  bytes?: number;
  packets?: number;
  /** IP protocol numbers; empty = any. */
  protocols: readonly number[];
  /** Ports on either side; empty = any. */
  ports: readonly PortRange[];
  /** Addresses on either side; empty = any. */
  cidrs: readonly Cidr[];
}

export interface CutoffOptions {
  defaults: CutoffLimits;
  classes: readonly CutoffClass[];
  /** Count each direction on its own (gotm's way) instead of the whole flow. */
  perDirection: boolean;
}

/** At most 254 classes: a flow stores its class in one byte, 0 meaning the defaults. */
export const MAX_CUTOFF_CLASSES = 254;

const KEEP_FLAGS = TcpFlag.Syn | TcpFlag.Fin | TcpFlag.Rst;

export class CutoffPolicy {
  readonly perDirection: boolean;
  readonly classes: readonly CutoffClass[];
  /** Limits by class index; index 0 is the defaults. */
  readonly #bytes: Float64Array;
  readonly #packets: Float64Array;
  /** Flows that went past their cutoff. */
  flowsCut = 0;

  constructor(opts: CutoffOptions) {
    if (opts.classes.length > MAX_CUTOFF_CLASSES) {
      throw new RangeError(`at most ${MAX_CUTOFF_CLASSES} cutoff classes`);
    }
    this.perDirection = opts.perDirection;
    this.classes = opts.classes;
    const d = opts.defaults;
    const limits = [
      d,
      ...opts.classes.map((c) => ({ bytes: c.bytes ?? d.bytes, packets: c.packets ?? d.packets })),
    ];
    // Unlimited is stored as +Infinity so the hot path is two comparisons.
    this.#bytes = Float64Array.from(limits, (l) => (l.bytes > 0 ? l.bytes : Infinity));
    this.#packets = Float64Array.from(limits, (l) => (l.packets > 0 ? l.packets : Infinity));
  }

  /** Class index for a new flow (0 = defaults) from the packet that created it. */
  classify(d: PacketDecoder, data: Buffer): number {
    for (let i = 0; i < this.classes.length; i++) {
      if (matches(this.classes[i]!, d, data)) return i + 1;
    }
    return 0;
  }

  className(cls: number): string {
    return cls === 0 ? 'default' : this.classes[cls - 1]!.name;
  }

  /**
   * Whether the packet about to be counted is written. Call before adding the packet to the
   * flow's counters. Marks the flow the first time it goes past its cutoff.
   */
  admit(flows: FlowTable, slot: number, dir: Dir, proto: number, tcpFlags: number): boolean {
    const cls = flows.cls[slot]!;
    const i = slot * 2;
    let packets: number;
    let bytes: number;
    if (this.perDirection) {
      packets = flows.packets[i + dir]!;
      bytes = flows.payloadBytes[i + dir]!;
    } else {
      packets = flows.packets[i]! + flows.packets[i + 1]!;
      bytes = flows.payloadBytes[i]! + flows.payloadBytes[i + 1]!;
    }
    if (packets < this.#packets[cls]! && bytes < this.#bytes[cls]!) return true;
    if (!flows.isCut(slot)) {
      flows.markCut(slot);
      this.flowsCut++;
    }
    return proto === IpProto.Tcp && (tcpFlags & KEEP_FLAGS) !== 0;
  }
}

function matches(c: CutoffClass, d: PacketDecoder, data: Buffer): boolean {
  if (c.protocols.length > 0 && !c.protocols.includes(d.proto)) return false;
  if (c.ports.length > 0) {
    const sp = d.srcPort,
      dp = d.dstPort;
    if (!c.ports.some((r) => (sp >= r.from && sp <= r.to) || (dp >= r.from && dp <= r.to))) {
      return false;
    }
  }
  if (c.cidrs.length > 0) {
    const hit =
      d.ipVersion === 4
        ? c.cidrs.some((n) => cidrContains4(n, d.src4) || cidrContains4(n, d.dst4))
        : c.cidrs.some(
            (n) => cidrContains6(n, data, d.src6Offset) || cidrContains6(n, data, d.dst6Offset),
          );
    if (!hit) return false;
  }
  return true;
}
