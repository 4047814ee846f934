/**
 * Walks the TPACKET_V3 ring of one AF_PACKET socket, in the capture worker that owns it.
 *
 * The ring is mapped by the addon (PacketRing) and seen here as one ArrayBuffer; blocks are read
 * where the kernel wrote them. One `pollBlock` call: wait for the next block (blocking this thread
 * for at most `timeoutMs`), hand each of its packets to the consumer through one reused FrameView,
 * give the block back to the kernel. Nothing is allocated per packet.
 *
 *   ring: [ block 0 | block 1 | … | block n-1 ]       blocks are handed over strictly in order
 *   block: tpacket_block_desc │ pkt │ pkt │ … │        num_pkts, offset_to_first_pkt
 *   pkt:   tpacket3_hdr … tp_mac ▶ frame bytes         tp_next_offset chains the packets
 *
 * Frames are borrowed: `frame.data` aliases the ring (or a scratch buffer), and the kernel may
 * overwrite the block as soon as `pollBlock` returns. Copy whatever outlives `onFrame`.
 *
 * VLAN: the kernel moves the outer 802.1Q/802.1ad tag of a received frame into the packet header
 * (tp_vlan_tci, tp_vlan_tpid) before we see it. Like libpcap, we put it back where it was, so
 * frames are byte-identical to what was on the wire. That needs a copy (into a scratch buffer);
 * untagged frames are not copied.
 */
import { constants as bufferConstants } from 'node:buffer';

import { afPacketAddon } from './af-packet-socket.ts';
import { newFrameView, type CaptureInterface, type FrameView } from './frame.ts';
import type { NativePacketRing } from './native-addon.ts';

// struct tpacket_block_desc (<linux/if_packet.h>): byte offsets from the block start.
const BLK_NUM_PKTS = 12;
const BLK_OFFSET_TO_FIRST_PKT = 16;
// struct tpacket3_hdr: byte offsets from the packet start (checked against the header with gcc).
const PKT_NEXT_OFFSET = 0;
const PKT_SEC = 4;
const PKT_NSEC = 8;
const PKT_SNAPLEN = 12;
const PKT_LEN = 16;
const PKT_STATUS = 20;
const PKT_MAC = 24; // u16, from the packet start
const PKT_VLAN_TCI = 32; // u32 (the tag's 16 bits)
const PKT_VLAN_TPID = 36; // u16
const PKT_HDR_LEN = 48;
/** sockaddr_ll follows the header (TPACKET_ALIGN(48)); sll_pkttype is its byte 10. */
const PKT_SLL_PKTTYPE = 48 + 10;
const PACKET_OUTGOING = 4;

const TP_STATUS_VLAN_VALID = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
const ETH_P_8021Q = 0x8100;
const ETH_ADDRS_LEN = 12;
const VLAN_TAG_LEN = 4;
const LINKTYPE_ETHERNET = 1;

export interface AfPacketRingOptions {
  /** Socket from `openAfPacketSocket`; it stays open when the ring closes. */
  fd: number;
  /** The geometry the socket was opened with. */
  blockSize: number;
  blockCount: number;
  /** Frames are cut to this many bytes (the filter already truncates to it in the kernel). */
  snapLen: number;
  /** Set as `frame.iface` on every frame. */
  iface: CaptureInterface;
  /**
   * Skip packets this host sent (loopback shows each packet twice). The socket option
   * PACKET_IGNORE_OUTGOING does this in the kernel, but not for sockets in a fanout group (the
   * group's own hook decides there), so the ring walk checks each packet's sll_pkttype.
   */
  skipOutgoing?: boolean;
}

export interface AfPacketRingStats {
  blocks: number;
  packets: number;
  /** Frames whose outer VLAN tag was put back (see the module comment). */
  vlanTagsRestored: number;
  /** Packets this host sent, skipped with `skipOutgoing` (not in `packets`). */
  outgoingSkipped: number;
}

export interface RingFrameConsumer {
  /** Called for every packet in ring order. `frame` is borrowed: copy what you keep. */
  onFrame(frame: FrameView): void;
}

export class AfPacketRing {
  readonly stats: AfPacketRingStats = {
    blocks: 0,
    packets: 0,
    vlanTagsRestored: 0,
    outgoingSkipped: 0,
  };
  readonly #ring: NativePacketRing;
  readonly #bytes: Buffer;
  readonly #u32: Uint32Array;
  readonly #u16: Uint16Array;
  readonly #blockSize: number;
  readonly #snapLen: number;
  readonly #skipOutgoing: boolean;
  readonly #frame: FrameView = newFrameView();
  /** Frame with its VLAN tag put back; null when the link type has no tags to restore. */
  readonly #tagged: Buffer | null;

  constructor(opts: AfPacketRingOptions) {
    if (!Number.isInteger(opts.snapLen) || opts.snapLen < 64) {
      throw new TypeError('snapLen must be an integer ≥ 64');
    }
    if (opts.blockSize * opts.blockCount > bufferConstants.MAX_LENGTH) {
      throw new TypeError(`the ring must not exceed ${bufferConstants.MAX_LENGTH} bytes`);
    }
    this.#ring = new (afPacketAddon().PacketRing)(opts.fd, opts.blockSize, opts.blockCount);
    const ab = this.#ring.buffer;
    this.#bytes = Buffer.from(ab);
    // The ring is in host byte order, which is what typed arrays use.
    this.#u32 = new Uint32Array(ab);
    this.#u16 = new Uint16Array(ab);
    this.#blockSize = opts.blockSize;
    this.#snapLen = opts.snapLen;
    this.#skipOutgoing = opts.skipOutgoing ?? false;
    this.#frame.iface = opts.iface;
    this.#tagged =
      opts.iface.linkType === LINKTYPE_ETHERNET ? Buffer.alloc(opts.snapLen + VLAN_TAG_LEN) : null;
  }

  /**
   * Waits up to `timeoutMs` for the next block; calls `consumer.onFrame(frame)` for each of its
   * packets in order, releases the block, returns the number of packets walked; -1 when the wait
   * timed out. Blocks this thread while it waits. If `onFrame` throws, the block is released
   * anyway (its remaining packets are lost) and the error propagates.
   */
  pollBlock(timeoutMs: number, consumer: RingFrameConsumer): number {
    const index = this.#ring.next(timeoutMs);
    if (index < 0) return -1;
    const u32 = this.#u32;
    const block = index * this.#blockSize;
    const blockEnd = block + this.#blockSize;
    const numPkts = u32[(block + BLK_NUM_PKTS) >>> 2]!;
    let pkt = block + u32[(block + BLK_OFFSET_TO_FIRST_PKT) >>> 2]!;
    let walked = 0;
    let skipped = 0;
    try {
      while (walked + skipped < numPkts && pkt + PKT_HDR_LEN <= blockEnd) {
        if (this.#skipOutgoing && this.#bytes[pkt + PKT_SLL_PKTTYPE] === PACKET_OUTGOING) {
          skipped++;
        } else {
          this.#fill(pkt, blockEnd);
          walked++;
          consumer.onFrame(this.#frame);
        }
        const next = u32[(pkt + PKT_NEXT_OFFSET) >>> 2]!;
        if (next === 0) break; // the last packet of the block
        pkt += next;
      }
    } finally {
      this.#ring.release(index);
      this.stats.blocks++;
      this.stats.packets += walked;
      this.stats.outgoingSkipped += skipped;
    }
    return walked;
  }

  /** Unmaps the ring (views of it become empty). Idempotent; the socket stays open. */
  close(): void {
    this.#ring.close();
  }

  /** Points the frame view at packet `pkt` (byte offset in the ring). */
  #fill(pkt: number, blockEnd: number): void {
    const u32 = this.#u32;
    const f = this.#frame;
    const h = pkt >>> 2;
    const status = u32[h + (PKT_STATUS >>> 2)]!;
    const mac = pkt + this.#u16[(pkt + PKT_MAC) >>> 1]!;
    // The kernel never writes past the block; the clamp only keeps a bad header inside the ring.
    const capLen = Math.max(
      0,
      Math.min(u32[h + (PKT_SNAPLEN >>> 2)]!, this.#snapLen, blockEnd - mac),
    );
    const origLen = u32[h + (PKT_LEN >>> 2)]!;
    f.tsSec = u32[h + (PKT_SEC >>> 2)]!;
    f.tsNsec = u32[h + (PKT_NSEC >>> 2)]!;

    const tci = u32[h + (PKT_VLAN_TCI >>> 2)]! & 0xffff;
    if (
      this.#tagged !== null &&
      (status & TP_STATUS_VLAN_VALID) !== 0 &&
      (tci !== 0 || (status & TP_STATUS_VLAN_TPID_VALID) !== 0) &&
      capLen >= ETH_ADDRS_LEN
    ) {
      const tpid =
        (status & TP_STATUS_VLAN_TPID_VALID) !== 0
          ? this.#u16[(pkt + PKT_VLAN_TPID) >>> 1]!
          : ETH_P_8021Q;
      const out = this.#tagged;
      this.#bytes.copy(out, 0, mac, mac + ETH_ADDRS_LEN);
      out[12] = tpid >>> 8;
      out[13] = tpid & 0xff;
      out[14] = tci >>> 8;
      out[15] = tci & 0xff;
      const rest = Math.min(capLen - ETH_ADDRS_LEN, this.#snapLen - ETH_ADDRS_LEN - VLAN_TAG_LEN);
      this.#bytes.copy(
        out,
        ETH_ADDRS_LEN + VLAN_TAG_LEN,
        mac + ETH_ADDRS_LEN,
        mac + ETH_ADDRS_LEN + rest,
      );
      f.data = out;
      f.offset = 0;
      f.capLen = ETH_ADDRS_LEN + VLAN_TAG_LEN + rest;
      f.origLen = origLen + VLAN_TAG_LEN;
      this.stats.vlanTagsRestored++;
    } else {
      f.data = this.#bytes;
      f.offset = mac;
      f.capLen = capLen;
      f.origLen = origLen;
    }
  }
}
