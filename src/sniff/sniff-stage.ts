/**
 * The sniffing side of the flow stage: TCP reassembly and protocol sniffers per flow, records out.
 *
 *   FlowStage ─ every packet with a flow ─► SniffStage.onPacket
 *     TCP: SYNs remembered per slot ─ first payload ─► session + TcpReassembler ─► ProtocolDetector
 *          ─► HTTP/1 │ HTTP/2 │ TLS │ DNS sniffer
 *     UDP: first payload classified ─► DNS │ QUIC Initial sniffer (other UDP flows are ignored)
 *   sniffer units ─► buildRecord (flow facts) ─► RecordSink
 *   flow end ─► reassembly closed, pending units flushed, a connection record for TCP flows
 *               that carried payload but no recognised protocol
 *
 * It runs only when records are wanted, so the pcap-only pipeline pays nothing for it.
 */
import type { FrameView } from '../capture/frame.ts';
import { Frag, IpProto, TcpFlag, type PacketDecoder } from '../decode/packet-decoder.ts';
import type { PacketObserver } from '../flow/flow-stage.ts';
import type { Dir, FlowTable } from '../flow/flow-table.ts';
import { communityId } from '../record/community-id.ts';
import { buildRecord, type FlowFacts } from '../record/record-builder.ts';
import type { GostRecord, RecordUnit } from '../record/record-types.ts';
import { newXid } from '../record/xid.ts';
import { ReassemblyMemory } from '../reassembly/reassembly-memory.ts';
import { TcpReassembler, type ReassemblyLimits } from '../reassembly/tcp-reassembler.ts';
import { ProtocolDetector, snifferFactories } from './protocol-detector.ts';
import { classifyDatagram } from './datagram-detector.ts';
import { SniffSession, type SessionOwner } from './sniff-session.ts';
import { UdpDefrag } from './udp-defrag.ts';
import type { ConnectionEndpoints, SniffConfig } from './sniffer.ts';

/** Where finished records go (a JSON-lines file, a worker's channel to the main thread, …). */
export interface RecordSink {
  write(record: GostRecord): void;
  /** Resolves when the sink can take more (its buffer is under its high-water mark). */
  drain?(): Promise<void> | void;
}

export interface SniffStageOptions {
  config: SniffConfig;
  /** GOST's `service`: the capture source's name. */
  service: string;
  sink: RecordSink;
  /** Out-of-order bytes all connections of this thread may hold. */
  reassemblyMemoryBytes: number;
  limits?: ReassemblyLimits;
}

export interface SniffStats {
  sessionsCreated: number;
  sessionsActive: number;
  /** Records by `proto` (`conn` for connection records without one). */
  records: Record<string, number>;
  /** Parse errors by `proto:code`. */
  parseErrors: Record<string, number>;
  /** TCP segments in IP fragments (not sniffed). */
  fragmentsSkipped: number;
  /** UDP datagrams put back together from IP fragments, and fragments given up on. */
  udpDatagramsReassembled: number;
  udpFragmentsDropped: number;
  reassemblyMemoryUsed: number;
  reassemblyEvictions: number;
  reassemblyEvictedBytes: number;
  /** Gaps (bytes never seen) in the TCP streams of the sessions that ended, and their bytes. */
  reassemblyGaps: number;
  reassemblyGapBytes: number;
}

// Per-slot state bits kept before a session exists.
const SynClient = 1;
const SynServer = 2;
/** The flow was looked at and has nothing to sniff (unknown UDP). */
const Ignored = 4;

const EMPTY = Buffer.alloc(0);

export class SniffStage implements PacketObserver, SessionOwner {
  readonly #config: SniffConfig;
  readonly #service: string;
  readonly #sink: RecordSink;
  readonly #memory: ReassemblyMemory;
  #gaps = 0;
  #gapBytes = 0;
  readonly #limits: ReassemblyLimits | undefined;
  #sessions: (SniffSession | undefined)[] = [];
  #state = new Uint8Array(0);
  #synSeq = new Uint32Array(0);
  #flows: FlowTable | null = null;
  readonly #defrag = new UdpDefrag();

  sessionsCreated = 0;
  sessionsActive = 0;
  fragmentsSkipped = 0;
  readonly #records = new Map<string, number>();
  readonly #parseErrors = new Map<string, number>();

  constructor(opts: SniffStageOptions) {
    this.#config = opts.config;
    this.#service = opts.service;
    this.#sink = opts.sink;
    this.#memory = new ReassemblyMemory(opts.reassemblyMemoryBytes);
    this.#limits = opts.limits;
  }

  onPacket(flows: FlowTable, slot: number, dir: Dir, d: PacketDecoder, frame: FrameView): void {
    const proto = d.proto;
    if (proto !== IpProto.Tcp && proto !== IpProto.Udp) return;
    if (slot >= this.#state.length) this.#grow(flows.capacity);
    this.#flows = flows;
    const capEnd = frame.offset + frame.capLen;
    if (d.fragment !== Frag.None) {
      if (proto === IpProto.Tcp) this.fragmentsSkipped++;
      else {
        const whole = this.#defrag.add(slot, dir, d, frame.data, capEnd, frame.tsSec);
        if (whole) this.#udp(flows, slot, dir, frame, whole);
      }
      return;
    }
    const off = d.payloadOffset;
    const captured = off >= capEnd ? 0 : Math.min(d.payloadLen, capEnd - off);
    if (proto === IpProto.Tcp) {
      this.#tcp(flows, slot, dir, d, frame, off, captured);
    } else if (captured > 0) {
      // A UDP flow found to hold nothing worth sniffing: no view of its payload.
      if (this.#sessions[slot] === undefined && this.#state[slot]! & Ignored) return;
      this.#udp(flows, slot, dir, frame, frame.data.subarray(off, off + captured));
    }
  }

  /**
   * One TCP segment, its `captured` payload bytes at `off` in the frame: sessions start with the
   * first payload, seeded with the SYNs seen before.
   */
  #tcp(
    flows: FlowTable,
    slot: number,
    dir: Dir,
    d: PacketDecoder,
    frame: FrameView,
    off: number,
    captured: number,
  ): void {
    const flags = d.tcpFlags;
    let s = this.#sessions[slot];
    if (s === undefined) {
      const st = this.#state[slot]!;
      if (d.payloadLen === 0) {
        // Only the SYNs matter before payload: they give each side's initial sequence number.
        if (flags & TcpFlag.Syn) {
          this.#synSeq[slot * 2 + dir] = d.tcpSeq;
          this.#state[slot] = st | (dir === 0 ? SynClient : SynServer);
        }
        return;
      }
      s = this.#open(flows, slot, 'tcp', frame);
      const r = new TcpReassembler(
        new ProtocolDetector(s, snifferFactories),
        this.#memory,
        this.#limits,
      );
      s.tcp = r;
      // Replayed without their ACK bit: only the initial sequence numbers are wanted here.
      if (st & SynClient) r.segment(0, this.#synSeq[slot * 2]!, 0, TcpFlag.Syn, EMPTY, 0);
      if (st & SynServer) r.segment(1, this.#synSeq[slot * 2 + 1]!, 0, TcpFlag.Syn, EMPTY, 0);
    }
    s.nowSec = frame.tsSec;
    s.nowNsec = frame.tsNsec;
    const r = s.tcp!;
    // A view of the payload only for a side whose bytes are still read (the sniffer may have
    // stopped wanting it, e.g. TLS after the handshake); the reassembler reads `wireLen` otherwise.
    const payload = captured > 0 && r.reads(dir) ? frame.data.subarray(off, off + captured) : EMPTY;
    r.segment(dir, d.tcpSeq, d.tcpAck, flags, payload, d.payloadLen);
  }

  /** One UDP payload (whole, or put back together from IP fragments). */
  #udp(flows: FlowTable, slot: number, dir: Dir, frame: FrameView, payload: Buffer): void {
    let s = this.#sessions[slot];
    if (s === undefined) {
      if (this.#state[slot]! & Ignored) return;
      // Later fragments carry no ports: the flow's own are in the table.
      const f = flows.describe(slot);
      const build = classifyDatagram(payload, f.origPort, f.respPort, this.#config.dnsPorts);
      if (build === null) {
        this.#state[slot]! |= Ignored;
        return;
      }
      s = this.#open(flows, slot, 'udp', frame);
      s.datagrams = build(s);
    }
    s.nowSec = frame.tsSec;
    s.nowNsec = frame.tsNsec;
    s.datagrams!.datagram(dir, payload);
  }

  onFlowEnd(_flows: FlowTable, slot: number): void {
    if (slot >= this.#state.length) return;
    this.#state[slot] = 0;
    const s = this.#sessions[slot];
    if (s === undefined) return;
    s.tcp?.close();
    const r = s.tcp?.stats;
    if (r) {
      this.#gaps += r.gaps;
      this.#gapBytes += r.gapBytes;
    }
    s.datagrams?.end();
    if (s.unitsEmitted === 0 && s.tcp) s.emit(connectionUnit(s));
    this.#sessions[slot] = undefined;
    this.sessionsActive--;
  }

  /**
   * The flow was first seen mid-connection and a late SYN named the other side as the client:
   * what was sniffed so far had the sides the wrong way round, so start over from this packet.
   */
  onDirectionsSwapped(_flows: FlowTable, slot: number): void {
    if (slot >= this.#state.length) return;
    this.#state[slot] = 0;
    if (this.#sessions[slot] !== undefined) {
      this.#sessions[slot] = undefined;
      this.sessionsActive--;
    }
  }

  drain(): Promise<void> | void {
    return this.#sink.drain?.();
  }

  emitUnit(s: SniffSession, unit: RecordUnit): void {
    const key = unit.proto === '' ? 'conn' : unit.proto;
    this.#records.set(key, (this.#records.get(key) ?? 0) + 1);
    this.#sink.write(buildRecord(this.#service, unit, this.#facts(s)));
  }

  parseError(proto: string, code: string): void {
    const key = `${proto}:${code}`;
    this.#parseErrors.set(key, (this.#parseErrors.get(key) ?? 0) + 1);
  }

  get stats(): SniffStats {
    return {
      sessionsCreated: this.sessionsCreated,
      sessionsActive: this.sessionsActive,
      records: Object.fromEntries(this.#records),
      parseErrors: Object.fromEntries(this.#parseErrors),
      fragmentsSkipped: this.fragmentsSkipped,
      udpDatagramsReassembled: this.#defrag.stats.reassembled,
      udpFragmentsDropped: this.#defrag.stats.dropped,
      reassemblyMemoryUsed: this.#memory.used,
      reassemblyEvictions: this.#memory.evictions,
      reassemblyEvictedBytes: this.#memory.evictedBytes,
      reassemblyGaps: this.#gaps,
      reassemblyGapBytes: this.#gapBytes,
    };
  }

  #open(flows: FlowTable, slot: number, network: 'tcp' | 'udp', frame: FrameView): SniffSession {
    const f = flows.describe(slot);
    const endpoints: ConnectionEndpoints = {
      network,
      clientIp: f.orig,
      clientPort: f.origPort,
      serverIp: f.resp,
      serverPort: f.respPort,
    };
    const s = new SniffSession(this, this.#config, endpoints, slot, {
      sec: frame.tsSec,
      nsec: frame.tsNsec,
    });
    this.#sessions[slot] = s;
    this.sessionsCreated++;
    this.sessionsActive++;
    return s;
  }

  #facts(s: SniffSession): FlowFacts {
    const flows = this.#flows!;
    const slot = s.slot;
    const ep = s.endpoints;
    if (s.sid === '') {
      s.sid = newXid(s.firstSeen.sec);
      s.communityId = communityId(
        ep.network === 'tcp' ? IpProto.Tcp : IpProto.Udp,
        ep.clientIp,
        ep.clientPort,
        ep.serverIp,
        ep.serverPort,
      );
    }
    const r = s.tcp?.stats;
    return {
      endpoints: ep,
      sid: s.sid,
      flow: {
        communityId: s.communityId,
        clientPackets: flows.packets[slot * 2]!,
        clientBytes: flows.payloadBytes[slot * 2]!,
        serverPackets: flows.packets[slot * 2 + 1]!,
        serverBytes: flows.payloadBytes[slot * 2 + 1]!,
        firstSeen: s.firstSeen,
        lastSeen: s.now(),
        midstream: r ? r.midstream[0] || r.midstream[1] : false,
        gaps: r?.gaps ?? 0,
        gapBytes: r?.gapBytes ?? 0,
        cutoff: flows.isCut(slot),
        pcap: [], // filled by the sink that knows the pcap output
      },
    };
  }

  #grow(capacity: number): void {
    const n = Math.max(capacity, this.#state.length * 2, 1024);
    const state = new Uint8Array(n);
    state.set(this.#state);
    this.#state = state;
    const syn = new Uint32Array(n * 2);
    syn.set(this.#synSeq);
    this.#synSeq = syn;
  }
}

/** The record of a TCP connection whose protocol was not recognised (GOST's connection record). */
function connectionUnit(s: SniffSession): RecordUnit {
  const t = s.now();
  return {
    proto: '',
    scope: 'connection',
    host: '',
    clientIP: '',
    inputBytes: 0,
    outputBytes: 0,
    start: t,
    end: t,
    err: '',
  };
}
