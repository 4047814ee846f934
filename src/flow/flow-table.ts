/**
 * Bidirectional flow table: canonical 5-tuple → slot, with idle expiry driven by packet time.
 *
 * Layout. Flows live in struct-of-arrays typed arrays indexed by slot, so a flow costs a fixed
 * ~120 bytes and lookups allocate nothing:
 *
 *   hash index (open addressing, linear probing, backward-shift delete) ──► slot
 *   slot ──► key words (lo addr ×4, hi addr ×4, ports, meta), per-direction counters, times, LRU links
 *
 * Canonical key. The two endpoints are ordered ("lo" < "hi" by address, then port), so both
 * directions of a connection find the same slot. Which endpoint is the initiator is a per-flow bit:
 * the sender of the first packet seen, corrected to the SYN sender when a SYN or SYN-ACK shows it.
 *
 * Expiry. Each flow sits on one of four LRU lists (TCP, UDP, other, closed TCP) ordered by last
 * packet time; a packet moves its flow to the tail. `expire(now)` pops heads older than the list's
 * timeout, so expiry is O(expired). A TCP flow that saw RST, or FIN from both sides, moves to the
 * closed list with a short linger so its last ACKs still find it; a new SYN on a closed flow starts a
 * new flow (port reuse). At `maxFlows`, the least recently seen flow is evicted (closed ones first).
 *
 * Capacity grows by doubling up to `maxFlows`, so memory follows the number of live flows.
 */
import { fmix32 } from './hash-mix.ts';
import { IpProto, readU32BE, TcpFlag, type PacketDecoder } from '../decode/packet-decoder.ts';

/** Why a flow left the table. */
export const FlowEnd = { Idle: 0, Closed: 1, Evicted: 2, Reused: 3, Flush: 4 } as const;
export type FlowEnd = (typeof FlowEnd)[keyof typeof FlowEnd];
export const flowEndNames: readonly string[] = ['idle', 'closed', 'evicted', 'reused', 'flush'];

/** Direction of a packet relative to the flow's initiator. */
export const Dir = { Orig: 0, Resp: 1 } as const;
export type Dir = (typeof Dir)[keyof typeof Dir];

export interface FlowTimeouts {
  tcpSec: number;
  udpSec: number;
  otherSec: number;
  /** Linger after RST or FIN from both sides. */
  tcpClosedSec: number;
}

export interface FlowTableOptions {
  maxFlows: number;
  timeouts: FlowTimeouts;
  /** Starting capacity (rounded to a power of two); grows by doubling up to maxFlows. */
  initialCapacity?: number;
  /** Called before a flow's slot is freed; counters are still readable. */
  onFlowEnd?: (table: FlowTable, slot: number, reason: FlowEnd) => void;
  /** Called after a late SYN swapped the flow's initiator and responder. */
  onDirectionsSwapped?: (table: FlowTable, slot: number) => void;
}

// LRU list ids.
const List = { Tcp: 0, Udp: 1, Other: 2, Closed: 3 } as const;
const LIST_COUNT = 4;

// Per-flow state bits.
const St = {
  InitiatorIsHi: 1,
  InitiatorBySyn: 2,
  FinOrig: 4,
  FinResp: 8,
  Closed: 16,
  /** Set by the cutoff stage the first time the flow goes past its cutoff. */
  Cut: 32,
} as const;

const KEY_WORDS = 8; // lo address (4 words) + hi address (4 words); IPv4 uses word 0 only

/**
 * Upper bounds (payload bytes of both directions, inclusive) of the flow size histogram's buckets;
 * one more bucket holds the larger flows. Powers of ten from 1 kB: a span port's flows run from
 * SYN-only (0) to multi-gigabyte transfers.
 */
export const FLOW_SIZE_BOUNDS: readonly number[] = [0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9];

export class FlowTable {
  readonly maxFlows: number;
  readonly timeouts: FlowTimeouts;
  #onFlowEnd: FlowTableOptions['onFlowEnd'];
  #onDirectionsSwapped: FlowTableOptions['onDirectionsSwapped'];

  #capacity = 0;
  #count = 0;
  #index = new Int32Array(0); // slot + 1, 0 = empty
  #indexMask = 0;
  #freeTop = 0;
  #free = new Int32Array(0);

  // Key.
  #addr = new Uint32Array(0);
  #ports = new Uint32Array(0); // lo port << 16 | hi port
  #meta = new Uint32Array(0); // proto | ipVersion << 8
  #hash = new Uint32Array(0);
  // State.
  #state = new Uint8Array(0);
  #list = new Uint8Array(0);
  #prev = new Int32Array(0);
  #next = new Int32Array(0);
  #head = new Int32Array(LIST_COUNT).fill(-1);
  #tail = new Int32Array(LIST_COUNT).fill(-1);
  #listTimeoutSec = new Float64Array(LIST_COUNT);
  /** Per flow: class chosen by the cutoff stage (0 = defaults). */
  cls = new Uint8Array(0);
  /** Bumped whenever a slot is reused, so stale references (fragments) can be detected. */
  generation = new Uint32Array(0);
  firstSeenSec = new Float64Array(0);
  lastSeenSec = new Float64Array(0);
  /** Per flow and direction at `slot * 2 + dir`. */
  packets = new Uint32Array(0);
  payloadBytes = new Float64Array(0);

  /** Direction of the packet given to the last `lookup` (0 orig, 1 resp). */
  dir: Dir = Dir.Orig;
  /** Whether the last `lookup` created the flow. */
  created = false;

  // Lifetime counters.
  flowsCreated = 0;
  readonly flowsEnded = new Float64Array(flowEndNames.length);
  /** Ended flows by payload bytes (both directions) per FLOW_SIZE_BOUNDS bucket, and their sum. */
  readonly flowSizeCounts = new Float64Array(FLOW_SIZE_BOUNDS.length + 1);
  flowSizeSum = 0;

  constructor(opts: FlowTableOptions) {
    if (!(opts.maxFlows >= 1)) throw new RangeError('maxFlows must be at least 1');
    this.maxFlows = opts.maxFlows;
    this.timeouts = opts.timeouts;
    this.#onFlowEnd = opts.onFlowEnd;
    this.#onDirectionsSwapped = opts.onDirectionsSwapped;
    this.#listTimeoutSec[List.Tcp] = opts.timeouts.tcpSec;
    this.#listTimeoutSec[List.Udp] = opts.timeouts.udpSec;
    this.#listTimeoutSec[List.Other] = opts.timeouts.otherSec;
    this.#listTimeoutSec[List.Closed] = opts.timeouts.tcpClosedSec;
    this.#resize(Math.min(nextPow2(opts.initialCapacity ?? 4096), nextPow2(opts.maxFlows)));
  }

  get size(): number {
    return this.#count;
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** Addresses and ports of a flow, initiator first (for records, tests and debugging). */
  describe(slot: number): {
    proto: number;
    ipVersion: number;
    orig: string;
    resp: string;
    origPort: number;
    respPort: number;
  } {
    const meta = this.#meta[slot]!;
    const ipVersion = meta >> 8;
    const initIsHi = (this.#state[slot]! & St.InitiatorIsHi) !== 0;
    const lo = formatAddr(this.#addr, slot * KEY_WORDS, ipVersion);
    const hi = formatAddr(this.#addr, slot * KEY_WORDS + 4, ipVersion);
    const ports = this.#ports[slot]!;
    const loPort = ports >>> 16;
    const hiPort = ports & 0xffff;
    return {
      proto: meta & 0xff,
      ipVersion,
      orig: initIsHi ? hi : lo,
      resp: initIsHi ? lo : hi,
      origPort: initIsHi ? hiPort : loPort,
      respPort: initIsHi ? loPort : hiPort,
    };
  }

  isCut(slot: number): boolean {
    return (this.#state[slot]! & St.Cut) !== 0;
  }

  /** The flow's key hash: the same for both directions (the canonical 5-tuple). */
  keyHash(slot: number): number {
    return this.#hash[slot]!;
  }

  markCut(slot: number): void {
    this.#state[slot]! |= St.Cut;
  }

  /**
   * Finds or creates the flow of the packet the decoder holds, updates its direction, LRU position
   * and TCP state. Sets `this.dir` and `this.created`. Counters are left to the caller.
   */
  lookup(d: PacketDecoder, data: Buffer, nowSec: number): number {
    // Canonical order: lo endpoint first.
    const v6 = d.ipVersion === 6;
    let srcIsLo: boolean;
    let w0: number, w4: number;
    let w1 = 0,
      w2 = 0,
      w3 = 0,
      w5 = 0,
      w6 = 0,
      w7 = 0;
    if (!v6) {
      const s = d.src4,
        t = d.dst4;
      srcIsLo = s < t || (s === t && d.srcPort <= d.dstPort);
      w0 = srcIsLo ? s : t;
      w4 = srcIsLo ? t : s;
    } else {
      const so = d.src6Offset,
        to = d.dst6Offset;
      const s0 = readU32BE(data, so),
        s1 = readU32BE(data, so + 4);
      const s2 = readU32BE(data, so + 8),
        s3 = readU32BE(data, so + 12);
      const t0 = readU32BE(data, to),
        t1 = readU32BE(data, to + 4);
      const t2 = readU32BE(data, to + 8),
        t3 = readU32BE(data, to + 12);
      const c =
        s0 !== t0 ? s0 - t0 : s1 !== t1 ? s1 - t1 : s2 !== t2 ? s2 - t2 : s3 !== t3 ? s3 - t3 : 0;
      srcIsLo = c < 0 || (c === 0 && d.srcPort <= d.dstPort);
      if (srcIsLo) {
        w0 = s0;
        w1 = s1;
        w2 = s2;
        w3 = s3;
        w4 = t0;
        w5 = t1;
        w6 = t2;
        w7 = t3;
      } else {
        w0 = t0;
        w1 = t1;
        w2 = t2;
        w3 = t3;
        w4 = s0;
        w5 = s1;
        w6 = s2;
        w7 = s3;
      }
    }
    const ports = srcIsLo
      ? ((d.srcPort << 16) | d.dstPort) >>> 0
      : ((d.dstPort << 16) | d.srcPort) >>> 0;
    const meta = d.proto | (d.ipVersion << 8);
    let h = fmix32(w0 ^ Math.imul(w4, 0x9e3779b1) ^ ports ^ Math.imul(meta, 0x85ebca6b));
    if (v6)
      h = fmix32(h ^ w1 ^ Math.imul(w2 ^ w5, 0xcc9e2d51) ^ Math.imul(w3 ^ w6, 0x1b873593) ^ w7);

    // Probe.
    const addr = this.#addr;
    let b = h & this.#indexMask;
    let slot = -1;
    for (;;) {
      const e = this.#index[b]!;
      if (e === 0) break;
      const s = e - 1;
      const k = s * KEY_WORDS;
      if (
        this.#hash[s] === h &&
        this.#ports[s] === ports &&
        this.#meta[s] === meta &&
        addr[k] === w0 &&
        addr[k + 4] === w4 &&
        addr[k + 1] === w1 &&
        addr[k + 2] === w2 &&
        addr[k + 3] === w3 &&
        addr[k + 5] === w5 &&
        addr[k + 6] === w6 &&
        addr[k + 7] === w7
      ) {
        slot = s;
        break;
      }
      b = (b + 1) & this.#indexMask;
    }

    const flags = d.proto === IpProto.Tcp ? d.tcpFlags : 0;
    const isSyn = (flags & (TcpFlag.Syn | TcpFlag.Ack)) === TcpFlag.Syn;
    if (slot >= 0 && isSyn && (this.#state[slot]! & St.Closed) !== 0) {
      // Port reuse: a fresh SYN on a closed connection starts a new flow.
      this.#end(slot, FlowEnd.Reused);
      slot = -1;
    }

    this.created = slot < 0;
    if (slot < 0) {
      slot = this.#create(h, ports, meta, w0, w1, w2, w3, w4, w5, w6, w7, nowSec);
      // Initiator: the sender of the first packet, or the receiver of a SYN-ACK.
      const synAck = (flags & (TcpFlag.Syn | TcpFlag.Ack)) === (TcpFlag.Syn | TcpFlag.Ack);
      const initIsSrc = !synAck;
      let st: number = (initIsSrc ? srcIsLo : !srcIsLo) ? 0 : St.InitiatorIsHi;
      if (isSyn || synAck) st |= St.InitiatorBySyn;
      this.#state[slot] = st;
    }

    let st = this.#state[slot]!;
    let initIsHi = (st & St.InitiatorIsHi) !== 0;
    if (isSyn && (st & St.InitiatorBySyn) === 0) {
      // The flow was first seen mid-connection; a SYN names the real initiator.
      const synFromHi = !srcIsLo;
      st = (st & ~St.InitiatorIsHi) | (synFromHi ? St.InitiatorIsHi : 0) | St.InitiatorBySyn;
      if (synFromHi !== initIsHi) {
        this.#swapDirections(slot);
        this.#state[slot] = st;
        this.#onDirectionsSwapped?.(this, slot);
      }
      initIsHi = synFromHi;
    }
    const dir: Dir = srcIsLo === initIsHi ? Dir.Resp : Dir.Orig;
    this.dir = dir;

    if (flags & (TcpFlag.Fin | TcpFlag.Rst)) {
      if (flags & TcpFlag.Rst) st |= St.Closed;
      else st |= dir === Dir.Orig ? St.FinOrig : St.FinResp;
      if ((st & (St.FinOrig | St.FinResp)) === (St.FinOrig | St.FinResp)) st |= St.Closed;
    }
    this.#state[slot] = st;
    this.lastSeenSec[slot] = nowSec;
    const list = (st & St.Closed) !== 0 ? List.Closed : listOf(d.proto);
    this.#moveToTail(slot, list);
    return slot;
  }

  /** Marks a flow as active at `nowSec` without a key lookup (later IP fragments). */
  touch(slot: number, nowSec: number): void {
    this.lastSeenSec[slot] = nowSec;
    const l = this.#list[slot]!;
    if (l !== 255) this.#moveToTail(slot, l);
  }

  /** Ends flows idle past their timeout at packet (or wall) time `nowSec`. */
  expire(nowSec: number): void {
    for (let l = 0; l < LIST_COUNT; l++) {
      const limit = nowSec - this.#listTimeoutSec[l]!;
      let s = this.#head[l]!;
      while (s >= 0 && this.lastSeenSec[s]! < limit) {
        const next = this.#next[s]!;
        this.#end(s, l === List.Closed ? FlowEnd.Closed : FlowEnd.Idle);
        s = next;
      }
    }
  }

  /** Ends every flow (end of input, shutdown), oldest first. */
  flush(): void {
    for (;;) {
      const s = this.#oldest();
      if (s < 0) return;
      this.#end(s, FlowEnd.Flush);
    }
  }

  /** Least recently seen flow, preferring closed ones; -1 when empty. */
  #oldest(): number {
    const closed = this.#head[List.Closed]!;
    if (closed >= 0) return closed;
    let best = -1;
    for (let l = 0; l < List.Closed; l++) {
      const s = this.#head[l]!;
      if (s >= 0 && (best < 0 || this.lastSeenSec[s]! < this.lastSeenSec[best]!)) best = s;
    }
    return best;
  }

  #create(
    h: number,
    ports: number,
    meta: number,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    w4: number,
    w5: number,
    w6: number,
    w7: number,
    nowSec: number,
  ): number {
    if (this.#count >= this.#capacity) {
      if (this.#capacity < this.maxFlows) this.#resize(Math.min(this.#capacity * 2, this.maxFlows));
      else this.#end(this.#oldest(), FlowEnd.Evicted);
    }
    const s = this.#free[--this.#freeTop]!;
    const k = s * KEY_WORDS;
    const a = this.#addr;
    a[k] = w0;
    a[k + 1] = w1;
    a[k + 2] = w2;
    a[k + 3] = w3;
    a[k + 4] = w4;
    a[k + 5] = w5;
    a[k + 6] = w6;
    a[k + 7] = w7;
    this.#ports[s] = ports;
    this.#meta[s] = meta;
    this.#hash[s] = h;
    this.cls[s] = 0;
    this.generation[s] = (this.generation[s]! + 1) >>> 0;
    this.firstSeenSec[s] = nowSec;
    this.lastSeenSec[s] = nowSec;
    this.packets[s * 2] = 0;
    this.packets[s * 2 + 1] = 0;
    this.payloadBytes[s * 2] = 0;
    this.payloadBytes[s * 2 + 1] = 0;
    this.#list[s] = 255;
    this.#insertIndex(s, h);
    this.#count++;
    this.flowsCreated++;
    return s;
  }

  #end(slot: number, reason: FlowEnd): void {
    this.#onFlowEnd?.(this, slot, reason);
    this.flowsEnded[reason]!++;
    const size = this.payloadBytes[slot * 2]! + this.payloadBytes[slot * 2 + 1]!;
    let bucket = 0;
    while (bucket < FLOW_SIZE_BOUNDS.length && size > FLOW_SIZE_BOUNDS[bucket]!) bucket++;
    this.flowSizeCounts[bucket]!++;
    this.flowSizeSum += size;
    this.#unlink(slot);
    this.#removeIndex(slot);
    this.#free[this.#freeTop++] = slot;
    this.#count--;
  }

  #swapDirections(slot: number): void {
    const p = this.packets,
      b = this.payloadBytes;
    const i = slot * 2;
    const tp = p[i]!;
    p[i] = p[i + 1]!;
    p[i + 1] = tp;
    const tb = b[i]!;
    b[i] = b[i + 1]!;
    b[i + 1] = tb;
  }

  #insertIndex(slot: number, h: number): void {
    let b = h & this.#indexMask;
    while (this.#index[b] !== 0) b = (b + 1) & this.#indexMask;
    this.#index[b] = slot + 1;
  }

  /** Backward-shift deletion keeps probe chains intact without tombstones. */
  #removeIndex(slot: number): void {
    const idx = this.#index;
    const mask = this.#indexMask;
    let b = this.#hash[slot]! & mask;
    while (idx[b] !== slot + 1) b = (b + 1) & mask;
    let hole = b;
    let j = b;
    for (;;) {
      j = (j + 1) & mask;
      const e = idx[j]!;
      if (e === 0) break;
      const home = this.#hash[e - 1]! & mask;
      // Move e into the hole when its home bucket is not in (hole, j] (cyclically).
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        idx[hole] = e;
        hole = j;
      }
    }
    idx[hole] = 0;
  }

  #moveToTail(slot: number, list: number): void {
    if (this.#list[slot] === list && this.#tail[list] === slot) return;
    this.#unlink(slot);
    const t = this.#tail[list]!;
    this.#prev[slot] = t;
    this.#next[slot] = -1;
    if (t >= 0) this.#next[t] = slot;
    else this.#head[list] = slot;
    this.#tail[list] = slot;
    this.#list[slot] = list;
  }

  #unlink(slot: number): void {
    const l = this.#list[slot]!;
    if (l === 255) return;
    const p = this.#prev[slot]!,
      n = this.#next[slot]!;
    if (p >= 0) this.#next[p] = n;
    else this.#head[l] = n;
    if (n >= 0) this.#prev[n] = p;
    else this.#tail[l] = p;
    this.#list[slot] = 255;
  }

  #resize(capacity: number): void {
    const old = this.#capacity;
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(
      a: T,
      make: (n: number) => T,
      per: number,
    ): T => {
      const n = make(capacity * per);
      n.set(a);
      return n;
    };
    this.#addr = grow(this.#addr, (n) => new Uint32Array(n), KEY_WORDS);
    this.#ports = grow(this.#ports, (n) => new Uint32Array(n), 1);
    this.#meta = grow(this.#meta, (n) => new Uint32Array(n), 1);
    this.#hash = grow(this.#hash, (n) => new Uint32Array(n), 1);
    this.#state = grow(this.#state, (n) => new Uint8Array(n), 1);
    this.#list = grow(this.#list, (n) => new Uint8Array(n), 1);
    this.#prev = grow(this.#prev, (n) => new Int32Array(n), 1);
    this.#next = grow(this.#next, (n) => new Int32Array(n), 1);
    this.cls = grow(this.cls, (n) => new Uint8Array(n), 1);
    this.generation = grow(this.generation, (n) => new Uint32Array(n), 1);
    this.firstSeenSec = grow(this.firstSeenSec, (n) => new Float64Array(n), 1);
    this.lastSeenSec = grow(this.lastSeenSec, (n) => new Float64Array(n), 1);
    this.packets = grow(this.packets, (n) => new Uint32Array(n), 2);
    this.payloadBytes = grow(this.payloadBytes, (n) => new Float64Array(n), 2);
    // New slots go on the free stack, lowest slot on top.
    const free = new Int32Array(capacity);
    free.set(this.#free.subarray(0, this.#freeTop));
    let top = this.#freeTop;
    for (let s = capacity - 1; s >= old; s--) free[top++] = s;
    this.#free = free;
    this.#freeTop = top;
    for (let s = old; s < capacity; s++) this.#list[s] = 255;
    // Index: a power of two at ≤ 50% load (capacity itself need not be a power of two).
    const buckets = nextPow2(capacity * 2);
    this.#index = new Int32Array(buckets);
    this.#indexMask = buckets - 1;
    this.#capacity = capacity;
    for (let s = 0; s < old; s++) if (this.#list[s] !== 255) this.#insertIndex(s, this.#hash[s]!);
  }
}

function listOf(proto: number): number {
  return proto === IpProto.Tcp ? List.Tcp : proto === IpProto.Udp ? List.Udp : List.Other;
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

function formatAddr(addr: Uint32Array, k: number, ipVersion: number): string {
  if (ipVersion === 4) {
    const a = addr[k]!;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 4; i++) {
    const w = addr[k + i]!;
    groups.push(w >>> 16, w & 0xffff);
  }
  return formatIpv6(groups);
}

/** RFC 5952 §4: lowercase hex, the longest run (≥ 2, first on ties) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1,
    bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]): string => g.map((v) => v.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}
