/**
 * Classic libpcap file parser (draft-ietf-opsawg-pcap, "PCAP Capture File Format").
 *
 *   file    = header(24) record*
 *   header  = magic(4) major(2) minor(2) reserved1(4) reserved2(4) snaplen(4) linktype+info(4)
 *   record  = ts_sec(4) ts_subsec(4) caplen(4) origlen(4) data(caplen)
 *
 * The magic gives the byte order of every later field and the unit of ts_subsec (0xA1B2C3D4:
 * microseconds, 0xA1B23C4D: nanoseconds). States: Header → Records → Done. Records carry no framing
 * beyond their caplen, so an impossible caplen leaves no way to find the next record: the walker
 * counts `bad_record_length` and stops (Done), keeping every frame before it.
 *
 * Hot path: one reused FrameView, fields read through a DataView (byte order as an argument, inlined
 * by the optimiser) at offsets, counters summed in locals and added to the stats once per window;
 * the next 64 KiB are pulled into the CPU cache ahead of the walk (touchLines).
 */
import {
  newFrameView,
  type CaptureInterface,
  type FrameConsumer,
  type SourceStats,
} from './frame.ts';
import {
  DEFAULT_SNAPLEN,
  MAX_CAPLEN_BYTES,
  TOUCH_AHEAD_BYTES,
  touchLines,
  type RecordWalker,
} from './file-record-walker.ts';
import { countSourceError, SourceErrorCause } from './file-source-errors.ts';

export const PCAP_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;

/** What a classic pcap magic number says, or null when it is not one. */
export interface PcapMagic {
  littleEndian: boolean;
  nanosecond: boolean;
}

/** Classifies the first 4 bytes of a file as a classic pcap magic (either byte order). */
export function pcapMagicAt(buf: Buffer, off: number): PcapMagic | null {
  switch (buf.readUInt32BE(off)) {
    case 0xa1b2c3d4:
      return { littleEndian: false, nanosecond: false };
    case 0xd4c3b2a1:
      return { littleEndian: true, nanosecond: false };
    case 0xa1b23c4d:
      return { littleEndian: false, nanosecond: true };
    case 0x4d3cb2a1:
      return { littleEndian: true, nanosecond: true };
    default:
      return null;
  }
}

const St = { Header: 0, Records: 1, Done: 2 } as const;
type St = (typeof St)[keyof typeof St];

export class PcapRecordWalker implements RecordWalker {
  #state: St = St.Header;
  #le = true;
  /** ts_subsec units per second (1e6 or 1e9) and nanoseconds per unit (1000 or 1). */
  #subPerSec = 1e6;
  #nsPerSub = 1000;
  /** Snaplen as written (0: unlimited); frames above it are counted, not dropped. */
  #snapLen = 0;
  readonly #frame = newFrameView();
  readonly #stats: SourceStats;
  readonly interfaces: CaptureInterface[] = [];

  constructor(stats: SourceStats) {
    this.#stats = stats;
  }

  get done(): boolean {
    return this.#state === St.Done;
  }

  walk(buf: Buffer, start: number, end: number, consumer: FrameConsumer | null): number {
    let pos = start;
    if (this.#state === St.Header) {
      if (end - pos < PCAP_HEADER_BYTES) return pos;
      this.#parseHeader(buf, pos);
      pos += PCAP_HEADER_BYTES;
    }
    if (this.#state !== St.Records || consumer === null) return pos;

    const frame = this.#frame;
    frame.data = buf;
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    const le = this.#le;
    const subPerSec = this.#subPerSec;
    const nsPerSub = this.#nsPerSub;
    const snapLen = this.#snapLen === 0 ? MAX_CAPLEN_BYTES : this.#snapLen;
    let frames = 0;
    let bytes = 0;
    let overSnap = 0;
    let touchedTo = pos;
    while (end - pos >= RECORD_HEADER_BYTES) {
      if (pos >= touchedTo) {
        touchedTo = Math.min(end, pos + TOUCH_AHEAD_BYTES);
        touchLines(buf, pos, touchedTo);
      }
      const capLen = dv.getUint32(pos + 8, le);
      if (capLen > MAX_CAPLEN_BYTES) {
        // No framing to resync on: everything after this record is unreachable.
        countSourceError(this.#stats, SourceErrorCause.BadRecordLength);
        this.#state = St.Done;
        break;
      }
      const next = pos + RECORD_HEADER_BYTES + capLen;
      if (next > end) break;
      let sec = dv.getUint32(pos, le);
      let sub = dv.getUint32(pos + 4, le);
      if (sub >= subPerSec) {
        // Out-of-range fraction (some writers carry it over): normalise so tsNsec stays < 1e9.
        const carry = Math.floor(sub / subPerSec);
        sec += carry;
        sub -= carry * subPerSec;
      }
      frame.tsSec = sec;
      frame.tsNsec = sub * nsPerSub;
      frame.origLen = dv.getUint32(pos + 12, le);
      frame.capLen = capLen;
      frame.offset = pos + RECORD_HEADER_BYTES;
      if (capLen > snapLen) overSnap++;
      consumer.onFrame(frame);
      frames++;
      bytes += capLen;
      pos = next;
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

  #parseHeader(buf: Buffer, pos: number): void {
    const magic = pcapMagicAt(buf, pos);
    if (magic === null) throw new Error('PcapRecordWalker: not a pcap header (checked at open)');
    const le = magic.littleEndian;
    this.#le = le;
    this.#subPerSec = magic.nanosecond ? 1e9 : 1e6;
    this.#nsPerSub = magic.nanosecond ? 1 : 1000;
    this.#snapLen = le ? buf.readUInt32LE(pos + 16) : buf.readUInt32BE(pos + 16);
    // "LinkType and additional information": the link type is the low 16 bits; above it sit the
    // FCS length and its flag (draft-ietf-opsawg-pcap §4, libpcap LT_LINKTYPE / LT_FCS_LENGTH).
    const linkType = (le ? buf.readUInt32LE(pos + 20) : buf.readUInt32BE(pos + 20)) & 0xffff;
    const iface: CaptureInterface = {
      id: 0,
      linkType,
      snapLen: this.#snapLen === 0 ? DEFAULT_SNAPLEN : this.#snapLen,
      tsPrecision: magic.nanosecond ? 'ns' : 'us',
      name: '',
    };
    this.interfaces.push(iface);
    this.#frame.iface = iface;
    this.#state = St.Records;
  }
}
