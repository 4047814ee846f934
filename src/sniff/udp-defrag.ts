/**
 * Puts fragmented UDP datagrams back together for the sniffers (a DNS answer over 1,280 bytes on
 * IPv6, an EDNS response on IPv4). The pcap side never needs this: it writes fragments as they came.
 *
 * Fragments are keyed by flow slot and IP fragment id; the flow stage has already mapped later
 * fragments to the first one's flow. Pieces are kept by their offset in the UDP payload (the
 * first fragment's UDP header is not part of it); a datagram is complete when the pieces cover
 * [0, UDP length − 8). Overlapping pieces: the first copy wins (RFC 5722 says drop the datagram
 * for IPv6; we keep sniffing but the bytes are those of the first copy).
 *
 * Bounds: MAX_PENDING datagrams at once (the oldest is dropped, counted), 65,535 bytes each,
 * and anything older than PENDING_TIMEOUT_SEC of packet time is dropped on the next insert.
 */
import { Frag, type PacketDecoder } from '../decode/packet-decoder.ts';

const MAX_PENDING = 256;
const MAX_DATAGRAM = 65535;
const PENDING_TIMEOUT_SEC = 30;
const UDP_HEADER = 8;

interface Pending {
  startedSec: number;
  /** Total UDP payload length, known once the first fragment (with the UDP header) arrived. */
  total: number;
  pieces: { offset: number; data: Buffer }[];
  bytes: number;
  dir: number;
}

export interface UdpDefragStats {
  reassembled: number;
  dropped: number;
}

export class UdpDefrag {
  readonly #pending = new Map<number, Pending>();
  readonly stats: UdpDefragStats = { reassembled: 0, dropped: 0 };

  /**
   * Adds the fragment `d` holds (decoded from `data`); returns the whole UDP payload when this
   * fragment completed a datagram, else null.
   */
  add(
    slot: number,
    dir: number,
    d: PacketDecoder,
    data: Buffer,
    capEnd: number,
    nowSec: number,
  ): Buffer | null {
    this.#expire(nowSec);
    // Slots stay below 2^21 and fragment ids fit 32 bits: one exact number key.
    const key = slot * 0x1_0000_0000 + d.fragmentId;
    let p = this.#pending.get(key);
    if (!p) {
      if (this.#pending.size >= MAX_PENDING) this.#dropOldest();
      p = { startedSec: nowSec, total: -1, pieces: [], bytes: 0, dir };
      this.#pending.set(key, p);
    }
    const off = d.payloadOffset;
    const captured = off >= capEnd ? 0 : Math.min(d.payloadLen, capEnd - off);
    let udpOffset: number;
    if (d.fragment === Frag.First) {
      udpOffset = 0;
      // The UDP header sits just before the payload; its length field covers the whole datagram.
      const udpLen = (data[off - 4]! << 8) | data[off - 3]!;
      p.total = udpLen - UDP_HEADER;
      p.dir = dir;
    } else {
      udpOffset = d.fragmentOffset - UDP_HEADER;
    }
    if (udpOffset < 0 || udpOffset + captured > MAX_DATAGRAM || captured < d.payloadLen) {
      // A fragment overlapping the UDP header, past any datagram, or cut by the snaplen.
      this.#pending.delete(key);
      this.stats.dropped++;
      return null;
    }
    p.pieces.push({ offset: udpOffset, data: Buffer.from(data.subarray(off, off + captured)) });
    p.bytes += captured;
    if (p.total < 0 || p.bytes < p.total) return null;
    const whole = assemble(p);
    if (whole === null) return null;
    this.#pending.delete(key);
    this.stats.reassembled++;
    return whole;
  }

  #expire(nowSec: number): void {
    for (const [key, p] of this.#pending) {
      if (p.startedSec >= nowSec - PENDING_TIMEOUT_SEC) return; // insertion order = age order
      this.#pending.delete(key);
      this.stats.dropped++;
    }
  }

  #dropOldest(): void {
    const first = this.#pending.keys().next();
    if (!first.done) this.#pending.delete(first.value);
    this.stats.dropped++;
  }
}

/** The payload when the pieces cover [0, total) without holes; null while one is missing. */
function assemble(p: Pending): Buffer | null {
  const pieces = p.pieces.sort((a, b) => a.offset - b.offset);
  const out = Buffer.alloc(p.total);
  let covered = 0;
  for (const piece of pieces) {
    if (piece.offset > covered) return null;
    const end = Math.min(piece.offset + piece.data.length, p.total);
    if (end > covered) {
      piece.data.copy(out, covered, covered - piece.offset, end - piece.offset);
      covered = end;
    }
  }
  return covered === p.total ? out : null;
}
