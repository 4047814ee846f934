/**
 * Classic pcap on the wire: the 24-byte file header, the 16-byte record header, and a scanner that
 * finds the longest prefix of whole records in a (possibly truncated) file.
 *
 * Format (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html, section 4): all fields in
 * the writer's byte order; tapgate always writes little-endian, so the magic reads d4 c3 b2 a1
 * (microseconds) or 4d 3c b2 a1 (nanoseconds) on disk.
 *
 *   file header   magic u32 | major u16 = 2 | minor u16 = 4 | thiszone i32 = 0 | sigfigs u32 = 0 |
 *                 snaplen u32 | linktype u32
 *   record header ts_sec u32 | ts_frac u32 (us or ns) | caplen u32 | origlen u32 | caplen bytes
 */
import type { FrameView, TsPrecision } from '../capture/frame.ts';

export const PCAP_FILE_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
/** A record longer than this is implausible whatever the snaplen says: the scanner stops there. */
export const PCAP_MAX_PLAUSIBLE_CAPLEN = 256 * 1024 * 1024;

export interface PcapFileHeader {
  linkType: number;
  snapLen: number;
  tsPrecision: TsPrecision;
}

/** Writes the file header at `offset` and returns the offset after it. */
export function encodePcapFileHeader(
  view: DataView,
  offset: number,
  linkType: number,
  snapLen: number,
  tsPrecision: TsPrecision,
): number {
  view.setUint32(offset, tsPrecision === 'ns' ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
  view.setUint16(offset + 4, 2, true);
  view.setUint16(offset + 6, 4, true);
  view.setInt32(offset + 8, 0, true);
  view.setUint32(offset + 12, 0, true);
  view.setUint32(offset + 16, snapLen, true);
  view.setUint32(offset + 20, linkType, true);
  return offset + PCAP_FILE_HEADER_BYTES;
}

/**
 * Frames up to this many bytes are copied with a 32-bit word loop through a cached DataView of
 * the source buffer: no allocation, and faster than Buffer#copy at that size. Larger frames use
 * Buffer#copy, which in Node 20 creates one short-lived Uint8Array view per call (there is no
 * allocation-free sub-range copy between two buffers); the memcpy dominates there.
 * Measured (2-vCPU VM): 60 B 75 vs 140 ns, 300 B 243 vs 190 ns, 1514 B 1420 vs 208 ns.
 */
export const WORD_COPY_MAX_BYTES = 128;

const EMPTY_VIEW = new DataView(new ArrayBuffer(0));

/**
 * Encodes records (header + the first `capLen` bytes of the frame). Keeps a DataView of the last
 * source buffer seen (sources reuse their read buffer, so it is rebuilt per buffer, not per
 * frame). Hot path: no allocation for frames up to WORD_COPY_MAX_BYTES.
 */
export class PcapRecordEncoder {
  #src: Buffer | null = null;
  #srcView: DataView = EMPTY_VIEW;

  /**
   * Writes the record at `offset` of `buf` (whose DataView is `view`) and returns the offset after
   * it. The caller has checked that `PCAP_RECORD_HEADER_BYTES + capLen` bytes fit and clamped
   * `capLen` to the snaplen.
   */
  encode(
    buf: Buffer,
    view: DataView,
    offset: number,
    frame: FrameView,
    capLen: number,
    tsPrecision: TsPrecision,
  ): number {
    view.setUint32(offset, frame.tsSec, true);
    view.setUint32(
      offset + 4,
      tsPrecision === 'ns' ? frame.tsNsec : Math.floor(frame.tsNsec / 1000),
      true,
    );
    view.setUint32(offset + 8, capLen, true);
    view.setUint32(offset + 12, frame.origLen, true);
    const start = offset + PCAP_RECORD_HEADER_BYTES;
    if (capLen > WORD_COPY_MAX_BYTES) {
      frame.data.copy(buf, start, frame.offset, frame.offset + capLen);
      return start + capLen;
    }
    const data = frame.data;
    if (data !== this.#src) {
      this.#src = data;
      this.#srcView = new DataView(data.buffer, data.byteOffset, data.length);
    }
    const src = this.#srcView;
    const from = frame.offset;
    let i = 0;
    for (; i + 4 <= capLen; i += 4) view.setUint32(start + i, src.getUint32(from + i, true), true);
    for (; i < capLen; i++) view.setUint8(start + i, src.getUint8(from + i));
    return start + capLen;
  }
}

/** Parses a little-endian classic pcap file header (the only kind tapgate writes), else null. */
export function decodePcapFileHeader(buf: Uint8Array): PcapFileHeader | null {
  if (buf.length < PCAP_FILE_HEADER_BYTES) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, PCAP_FILE_HEADER_BYTES);
  const magic = view.getUint32(0, true);
  if (magic !== PCAP_MAGIC_US && magic !== PCAP_MAGIC_NS) return null;
  if (view.getUint16(4, true) !== 2) return null;
  return {
    tsPrecision: magic === PCAP_MAGIC_NS ? 'ns' : 'us',
    snapLen: view.getUint32(16, true),
    linkType: view.getUint32(20, true),
  };
}

const EMPTY = Buffer.alloc(0);

/**
 * Finds the longest prefix of a pcap byte stream made of the file header and complete, plausible
 * records, fed chunk by chunk (ws-style: "not enough bytes yet" is a normal return).
 *
 * State: `header` (null until 24 bytes arrived), `#carry` (the bytes of an incomplete record at the
 * end of the last chunk), `stopped` (an implausible record header was seen: nothing after it is
 * trusted, so every later chunk is ignored). Invariant: `validBytes` = header + the records counted
 * in `packets`; it only grows.
 *
 * A record is implausible when caplen > the file's snaplen (tapgate trims to snaplen) or > 256 MiB,
 * or when the fractional timestamp is out of range for the precision.
 */
export class PcapRecordScanner {
  header: PcapFileHeader | null = null;
  validBytes = 0;
  packets = 0;
  firstSec = 0;
  firstNsec = 0;
  lastSec = 0;
  lastNsec = 0;
  stopped = false;
  #carry: Buffer = EMPTY;

  /**
   * Feeds the next chunk; returns the bytes that extended the valid prefix (a view of `chunk` or of
   * a copy joining it to the carried bytes; empty when nothing completed).
   */
  push(chunk: Buffer): Buffer {
    if (this.stopped) return EMPTY;
    const data = this.#carry.length > 0 ? Buffer.concat([this.#carry, chunk]) : chunk;
    let pos = 0;
    if (this.header === null) {
      if (data.length < PCAP_FILE_HEADER_BYTES) {
        this.#carry = Buffer.from(data);
        return EMPTY;
      }
      this.header = decodePcapFileHeader(data);
      if (this.header === null) {
        this.stopped = true;
        this.#carry = EMPTY;
        return EMPTY;
      }
      pos = PCAP_FILE_HEADER_BYTES;
    }
    const { snapLen, tsPrecision } = this.header;
    const maxCapLen = Math.min(snapLen === 0 ? 262144 : snapLen, PCAP_MAX_PLAUSIBLE_CAPLEN);
    const fracLimit = tsPrecision === 'ns' ? 1_000_000_000 : 1_000_000;
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    while (pos + PCAP_RECORD_HEADER_BYTES <= data.length) {
      const sec = view.getUint32(pos, true);
      const frac = view.getUint32(pos + 4, true);
      const capLen = view.getUint32(pos + 8, true);
      if (capLen > maxCapLen || frac >= fracLimit) {
        this.stopped = true;
        break;
      }
      const end = pos + PCAP_RECORD_HEADER_BYTES + capLen;
      if (end > data.length) break;
      const nsec = tsPrecision === 'ns' ? frac : frac * 1000;
      if (this.packets === 0) {
        this.firstSec = sec;
        this.firstNsec = nsec;
      }
      this.lastSec = sec;
      this.lastNsec = nsec;
      this.packets++;
      pos = end;
    }
    this.#carry = this.stopped ? EMPTY : Buffer.from(data.subarray(pos));
    this.validBytes += pos;
    return data.subarray(0, pos);
  }
}
