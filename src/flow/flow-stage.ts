/**
 * The flow stage: decode a frame, find its flow, apply the cutoff, hand admitted frames to the pcap
 * writer. One instance per thread; it owns its flow table.
 *
 *   frame ─► PacketDecoder ─► FlowTable.lookup ─► CutoffPolicy.admit ─► counters ─► sink.write
 *              │ no flow key (non-IP, malformed): written, counted by cause
 *
 * Frames that cannot be put in a flow are still written: the bytes are evidence, and only flows have
 * a cutoff to apply.
 */
import type { FrameConsumer, FrameView } from '../capture/frame.ts';
import { DecodeIssue, decodeIssueNames } from '../decode/decode-errors.ts';
import { Frag, PacketDecoder } from '../decode/packet-decoder.ts';
import type { CutoffPolicy } from './cutoff.ts';
import { FragmentMap } from './fragment-map.ts';
import {
  FlowTable,
  flowEndNames,
  type Dir,
  type FlowEnd,
  type FlowTableOptions,
} from './flow-table.ts';

/** Where admitted frames go (the pcap output). */
export interface FrameSink {
  write(frame: FrameView): void;
  drain(): Promise<void> | void;
}

export interface FlowStageStats {
  packets: number;
  /** Captured bytes (sum of capLen). */
  bytes: number;
  packetsWritten: number;
  bytesWritten: number;
  /** Packets and bytes the cutoff kept out of pcap. */
  packetsCut: number;
  bytesCut: number;
  /** Frames without a flow (non-IP or undecodable), all written. */
  packetsWithoutFlow: number;
  fragmentsUnmatched: number;
  flowsCreated: number;
  flowsActive: number;
  flowsCut: number;
  /** Flows ended, by reason (idle, closed, evicted, reused, flush). */
  flowsEnded: Record<string, number>;
  /** Frames with a decode issue, by cause (non_ip, ipv4_truncated, …). */
  decodeIssues: Record<string, number>;
  /** Ended flows per FLOW_SIZE_BOUNDS bucket (flow-table.ts; last = larger), and total bytes. */
  flowSizeCounts: number[];
  flowSizeSum: number;
}

/**
 * Sees every packet that has a flow, after the lookup and the cutoff decision (cut packets
 * included: records cover the whole flow, the pcap only its first bytes). Reassembly and the
 * sniffers plug in here.
 */
export interface PacketObserver {
  /** `d` holds the decoded packet; `frame` and `d` are valid during the call only. */
  onPacket(flows: FlowTable, slot: number, dir: Dir, d: PacketDecoder, frame: FrameView): void;
  /** Called before the flow's slot is freed; the table's counters are still readable. */
  onFlowEnd(flows: FlowTable, slot: number, reason: FlowEnd): void;
  /** A late SYN showed the flow's initiator was the other endpoint: directions swapped. */
  onDirectionsSwapped(flows: FlowTable, slot: number): void;
  /** Backpressure of the observer's own output, awaited with the pcap sink's. */
  drain?(): Promise<void> | void;
}

export interface FlowStageOptions {
  flows: FlowTableOptions;
  cutoff: CutoffPolicy;
  /** null: track flows and count, write nothing (`--no-pcap`). */
  sink: FrameSink | null;
  /** Called with the flow's key hash (direction-independent) when a packet creates a flow. */
  onFlowCreated?: (keyHash: number) => void;
  observer?: PacketObserver;
}

export class FlowStage implements FrameConsumer {
  readonly flows: FlowTable;
  readonly cutoff: CutoffPolicy;
  readonly #sink: FrameSink | null;
  readonly #onFlowCreated: ((keyHash: number) => void) | null;
  readonly #observer: PacketObserver | null;
  readonly #decoder = new PacketDecoder();
  readonly #fragments = new FragmentMap();
  readonly #issues = new Float64Array(decodeIssueNames.length);

  packets = 0;
  bytes = 0;
  packetsWritten = 0;
  bytesWritten = 0;
  packetsCut = 0;
  bytesCut = 0;
  packetsWithoutFlow = 0;
  fragmentsUnmatched = 0;
  /** Packet time of the newest frame, seconds. */
  nowSec = 0;

  constructor(opts: FlowStageOptions) {
    const observer = opts.observer ?? null;
    this.#observer = observer;
    this.flows = new FlowTable(
      observer
        ? {
            ...opts.flows,
            onFlowEnd: (t, slot, reason) => {
              opts.flows.onFlowEnd?.(t, slot, reason);
              observer.onFlowEnd(t, slot, reason);
            },
            onDirectionsSwapped: (t, slot) => {
              observer.onDirectionsSwapped(t, slot);
            },
          }
        : opts.flows,
    );
    this.cutoff = opts.cutoff;
    this.#sink = opts.sink;
    this.#onFlowCreated = opts.onFlowCreated ?? null;
  }

  onFrame(frame: FrameView): void {
    const capLen = frame.capLen;
    this.packets++;
    this.bytes += capLen;
    const nowSec = frame.tsSec + frame.tsNsec * 1e-9;
    if (nowSec > this.nowSec) this.nowSec = nowSec;
    const d = this.#decoder;
    const data = frame.data;
    const issue = d.decode(data, frame.offset, capLen, frame.iface.linkType);
    // A transport header cut by the snaplen still names the flow when its ports were captured.
    const keyed =
      d.ipVersion !== 0 &&
      (issue === DecodeIssue.None ||
        issue === DecodeIssue.TcpTruncated ||
        issue === DecodeIssue.UdpTruncated);
    if (issue !== DecodeIssue.None) this.#issues[issue]!++;
    if (!keyed) {
      this.packetsWithoutFlow++;
      this.#write(frame, capLen);
      return;
    }

    const flows = this.flows;
    flows.expire(nowSec);
    let slot: number;
    if (d.fragment === Frag.Later) {
      slot = this.#fragments.find(d, data, flows.generation, nowSec);
      if (slot >= 0) flows.touch(slot, nowSec);
      else {
        // First fragment not seen (yet): account it to the address pair.
        this.fragmentsUnmatched++;
        slot = flows.lookup(d, data, nowSec);
      }
    } else {
      slot = flows.lookup(d, data, nowSec);
      if (d.fragment === Frag.First) {
        this.#fragments.remember(d, data, slot, flows.generation[slot]!, nowSec);
      }
    }
    if (flows.created) {
      flows.cls[slot] = this.cutoff.classify(d, data);
      this.#onFlowCreated?.(flows.keyHash(slot));
    }
    const dir = flows.dir;
    const admitted = this.cutoff.admit(flows, slot, dir, d.proto, d.tcpFlags);
    const i = slot * 2 + dir;
    flows.packets[i]!++;
    flows.payloadBytes[i]! += d.payloadLen;
    if (admitted) this.#write(frame, capLen);
    else {
      this.packetsCut++;
      this.bytesCut += capLen;
    }
    this.#observer?.onPacket(flows, slot, dir, d, frame);
  }

  drain(): Promise<void> | void {
    const pcap = this.#sink?.drain();
    const observer = this.#observer?.drain?.();
    if (!observer) return pcap;
    if (!pcap) return observer;
    return Promise.all([pcap, observer]).then(() => undefined);
  }

  /** Advances idle expiry without packets (live capture on a quiet link). */
  expire(nowSec: number): void {
    if (nowSec > this.nowSec) this.nowSec = nowSec;
    this.flows.expire(nowSec);
  }

  /** Ends every flow (end of input or shutdown). */
  finish(): void {
    this.flows.flush();
  }

  get stats(): FlowStageStats {
    const flowsEnded: Record<string, number> = {};
    flowEndNames.forEach((n, i) => (flowsEnded[n] = this.flows.flowsEnded[i]!));
    const decodeIssues: Record<string, number> = {};
    decodeIssueNames.forEach((n, i) => {
      if (this.#issues[i]! > 0) decodeIssues[n] = this.#issues[i]!;
    });
    return {
      packets: this.packets,
      bytes: this.bytes,
      packetsWritten: this.packetsWritten,
      bytesWritten: this.bytesWritten,
      packetsCut: this.packetsCut,
      bytesCut: this.bytesCut,
      packetsWithoutFlow: this.packetsWithoutFlow,
      fragmentsUnmatched: this.fragmentsUnmatched,
      flowsCreated: this.flows.flowsCreated,
      flowsActive: this.flows.size,
      flowsCut: this.cutoff.flowsCut,
      flowsEnded,
      decodeIssues,
      flowSizeCounts: Array.from(this.flows.flowSizeCounts),
      flowSizeSum: this.flows.flowSizeSum,
    };
  }

  #write(frame: FrameView, capLen: number): void {
    this.packetsWritten++;
    this.bytesWritten += capLen;
    this.#sink?.write(frame);
  }
}
