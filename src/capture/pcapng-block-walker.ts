/**
 * pcapng parser (draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File Format").
 *
 *   file    = section+
 *   section = SHB (IDB | EPB | SPB | PB | other block)*
 *   block   = type(4) total_length(4) body… total_length(4)
 *
 * States: Header (the file must open with an SHB) → Blocks → Done.
 *
 * - Byte order is per section: the SHB's byte-order magic (0x1A2B3C4D) is read before its own length
 *   (§4.1). A new SHB starts a new section with an empty interface list (§4.1, §4.2: interface ids are
 *   section-local). Interfaces exposed to consumers keep one global list with ids unique across
 *   sections (section base + local id), as Wireshark numbers them.
 * - A block is processed only once it is entirely in the window (at most `maxBlockBytes`), so its
 *   trailing length can be checked and the result never depends on where chunks end. Larger blocks
 *   are skipped unread: the walker returns an offset past the window and the reader discards input.
 * - Framing errors: a length below 12 or not a multiple of 4, or a bad byte-order magic, leave no way
 *   to find the next block (`bad_block`, Done). A trailing length that disagrees with the leading one
 *   costs only that block (`bad_block`, skipped). Packets with an impossible captured length
 *   (`bad_record_length`) or an unknown interface (`unknown_interface`) are skipped by their length.
 * - Frames: EPB (type 6), SPB (type 3: interface 0, no timestamp, captured length =
 *   min(original length, snaplen, room in the block), §4.4) and the obsolete Packet Block (type 2,
 *   16-bit interface id, Appendix A). NRB, ISB, DSB, custom and unknown blocks are skipped.
 */
import {
  newFrameView,
  type CaptureInterface,
  type FrameConsumer,
  type SourceStats,
} from './frame.ts';
import {
  MAX_CAPLEN_BYTES,
  TOUCH_AHEAD_BYTES,
  touchLines,
  type RecordWalker,
} from './file-record-walker.ts';
import { countSourceError, SourceErrorCause } from './file-source-errors.ts';
import { IDB_MIN_BYTES, parseIdb, type PcapngInterface } from './pcapng-interface.ts';

export const BlockType = {
  Shb: 0x0a0d0d0a,
  Idb: 0x00000001,
  Pb: 0x00000002,
  Spb: 0x00000003,
  Epb: 0x00000006,
} as const;

/** Byte-order magic of an SHB as read in the section's own byte order. */
export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Bytes needed to know a block's type, length and (for an SHB) byte order. */
const BLOCK_HEAD_BYTES = 12;
const SHB_MIN_BYTES = 28;
const EPB_MIN_BYTES = 32; // also the obsolete Packet Block
const SPB_MIN_BYTES = 16;
/** Blocks up to this size are buffered whole; larger ones are skipped unread. */
export const DEFAULT_MAX_BLOCK_BYTES = 16 << 20;

const St = { Header: 0, Blocks: 1, Done: 2 } as const;
type St = (typeof St)[keyof typeof St];

export class PcapngBlockWalker implements RecordWalker {
  #state: St = St.Header;
  /** Byte order of the current section. */
  #le = true;
  /** Interfaces of the current section, by section-local id. */
  #section: PcapngInterface[] = [];
  readonly interfaces: CaptureInterface[] = [];
  readonly #frame = newFrameView();
  readonly #stats: SourceStats;
  readonly #maxBlockBytes: number;

  constructor(stats: SourceStats, maxBlockBytes = DEFAULT_MAX_BLOCK_BYTES) {
    this.#stats = stats;
    this.#maxBlockBytes = maxBlockBytes;
  }

  get done(): boolean {
    return this.#state === St.Done;
  }

  walk(buf: Buffer, start: number, end: number, consumer: FrameConsumer | null): number {
    const frame = this.#frame;
    frame.data = buf;
    // DataView reads take the byte order as an argument and are inlined by the optimiser; a helper
    // picking readUInt32LE/BE stayed a call (measured 3.5 M blocks/s against 6.2 M with the DataView).
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = start;
    let frames = 0;
    let bytes = 0;
    let overSnap = 0;
    let touchedTo = pos;
    while (this.#state !== St.Done && end - pos >= BLOCK_HEAD_BYTES) {
      if (pos >= touchedTo) {
        touchedTo = Math.min(end, pos + TOUCH_AHEAD_BYTES);
        touchLines(buf, pos, touchedTo);
      }
      // The SHB type reads the same in both byte orders; everything else needs the section's.
      let type = dv.getUint32(pos, true);
      if (type === BlockType.Shb) {
        if (!this.#startSection(buf, pos)) break;
      } else if (this.#state === St.Header) {
        this.#fail(SourceErrorCause.BadBlock);
        break;
      } else if (!this.#le) {
        type = dv.getUint32(pos, false);
      }
      const le = this.#le;
      const len = dv.getUint32(pos + 4, le);
      if (len < BLOCK_HEAD_BYTES || (len & 3) !== 0) {
        this.#fail(SourceErrorCause.BadBlock);
        break;
      }
      // Head mode (no consumer) stops before the first frame: packet blocks below have a consumer.
      if (consumer === null && isPacketBlock(type)) break;
      if (len > this.#maxBlockBytes) {
        if (type === BlockType.Idb && end - pos < 16) break;
        this.#oversized(buf, pos, type);
        pos += len;
        continue;
      }
      if (end - pos < len) break;
      if (dv.getUint32(pos + len - 4, le) !== len) {
        countSourceError(this.#stats, SourceErrorCause.BadBlock);
        pos += len;
        continue;
      }

      if (type === BlockType.Epb || type === BlockType.Pb) {
        // EPB: interface(4) ts_hi(4) ts_lo(4) caplen(4) origlen(4) data…
        // PB:  interface(2) drops(2) ts_hi(4) ts_lo(4) caplen(4) origlen(4) data…
        if (len < EPB_MIN_BYTES) {
          countSourceError(this.#stats, SourceErrorCause.BadBlock);
        } else {
          const ifId =
            type === BlockType.Epb ? dv.getUint32(pos + 8, le) : dv.getUint16(pos + 8, le);
          const capLen = dv.getUint32(pos + 20, le);
          const st = this.#section[ifId];
          if (st === undefined) {
            countSourceError(this.#stats, SourceErrorCause.UnknownInterface);
          } else if (capLen > MAX_CAPLEN_BYTES || capLen > len - EPB_MIN_BYTES) {
            countSourceError(this.#stats, SourceErrorCause.BadRecordLength);
          } else {
            st.ts.apply(dv.getUint32(pos + 12, le), dv.getUint32(pos + 16, le), frame);
            frame.iface = st.iface;
            frame.offset = pos + 28;
            frame.capLen = capLen;
            frame.origLen = dv.getUint32(pos + 24, le);
            if (st.rawSnapLen !== 0 && capLen > st.rawSnapLen) overSnap++;
            (consumer as FrameConsumer).onFrame(frame);
            frames++;
            bytes += capLen;
          }
        }
      } else if (type === BlockType.Spb) {
        // SPB: origlen(4) data…; always interface 0 of the section, no timestamp.
        const st = this.#section[0];
        if (len < SPB_MIN_BYTES) {
          countSourceError(this.#stats, SourceErrorCause.BadBlock);
        } else if (st === undefined) {
          countSourceError(this.#stats, SourceErrorCause.UnknownInterface);
        } else {
          const origLen = dv.getUint32(pos + 8, le);
          let capLen = Math.min(origLen, len - SPB_MIN_BYTES);
          if (st.rawSnapLen !== 0 && capLen > st.rawSnapLen) capLen = st.rawSnapLen;
          if (capLen > MAX_CAPLEN_BYTES) {
            countSourceError(this.#stats, SourceErrorCause.BadRecordLength);
          } else {
            frame.tsSec = 0;
            frame.tsNsec = 0;
            frame.iface = st.iface;
            frame.offset = pos + 12;
            frame.capLen = capLen;
            frame.origLen = origLen;
            (consumer as FrameConsumer).onFrame(frame);
            frames++;
            bytes += capLen;
          }
        }
      } else if (type === BlockType.Idb) {
        if (len < IDB_MIN_BYTES) countSourceError(this.#stats, SourceErrorCause.BadBlock);
        else this.#addInterface(parseIdb(buf, pos, pos + len - 4, le, this.interfaces.length));
      } else if (type === BlockType.Shb && len < SHB_MIN_BYTES) {
        countSourceError(this.#stats, SourceErrorCause.BadBlock);
      }
      // Anything else (NRB, ISB, DSB, custom, unknown) is skipped by its length.
      pos += len;
    }
    this.#stats.frames += frames;
    this.#stats.bytes += bytes;
    if (overSnap > 0) countSourceError(this.#stats, SourceErrorCause.CaplenOverSnaplen, overSnap);
    return pos;
  }

  finish(unconsumed: number): void {
    if (unconsumed > 0 && this.#state !== St.Done) {
      countSourceError(this.#stats, SourceErrorCause.TruncatedRecord);
    }
    this.#state = St.Done;
  }

  /**
   * SHB at `pos`: takes the byte order from its byte-order magic and starts a new section with no
   * interfaces. False (and Done) when the magic is neither order: nothing after it can be read.
   */
  #startSection(buf: Buffer, pos: number): boolean {
    const bom = buf.readUInt32LE(pos + 8);
    if (bom === PCAPNG_BYTE_ORDER_MAGIC) this.#le = true;
    else if (bom === 0x4d3c2b1a) this.#le = false;
    else {
      this.#fail(SourceErrorCause.BadBlock);
      return false;
    }
    this.#section = [];
    this.#state = St.Blocks;
    return true;
  }

  /** A block longer than `maxBlockBytes`: skipped unread; an IDB keeps its fixed fields. */
  #oversized(buf: Buffer, pos: number, type: number): void {
    if (isPacketBlock(type)) {
      countSourceError(this.#stats, SourceErrorCause.BadRecordLength);
    } else if (type === BlockType.Idb) {
      // Keep the interface (later ids depend on it) but not its options.
      countSourceError(this.#stats, SourceErrorCause.BadBlock);
      this.#addInterface(parseIdb(buf, pos, pos + 16, this.#le, this.interfaces.length));
    }
  }

  #addInterface(st: PcapngInterface): void {
    this.#section.push(st);
    this.interfaces.push(st.iface);
  }

  #fail(cause: SourceErrorCause): void {
    countSourceError(this.#stats, cause);
    this.#state = St.Done;
  }
}

function isPacketBlock(type: number): boolean {
  return type === BlockType.Epb || type === BlockType.Spb || type === BlockType.Pb;
}
