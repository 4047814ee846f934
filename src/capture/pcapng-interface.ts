/**
 * pcapng Interface Description Block (pcapng spec §4.2):
 *
 *   type=1(4) length(4) LinkType(2) Reserved(2) SnapLen(4) options… length(4)
 *
 * Options are TLVs (code(2) length(2) value padded to 4 bytes), ended by opt_endofopt (code 0) or the
 * end of the block. Used here: if_name (2, UTF-8), if_tsresol (9, one byte), if_tsoffset (14, signed
 * 64-bit seconds). A malformed option list is cut where it breaks; the interface stays usable.
 */
import type { CaptureInterface } from './frame.ts';
import { DEFAULT_SNAPLEN } from './file-record-walker.ts';
import { TsConverter } from './pcapng-timestamp.ts';

/** Minimum IDB length: header, LinkType, Reserved, SnapLen, trailer. */
export const IDB_MIN_BYTES = 20;

const OPT_ENDOFOPT = 0;
const IF_NAME = 2;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

/** What the walker needs per interface of the current section. */
export interface PcapngInterface {
  readonly iface: CaptureInterface;
  /** SnapLen as written (0 = unlimited). */
  readonly rawSnapLen: number;
  readonly ts: TsConverter;
}

/**
 * Parses the IDB at `buf[pos, pos + blockLen)`; `optionsEnd` limits the option scan (the trailer
 * offset, or less when only the fixed part is buffered). `id` is the interface id in the source.
 */
export function parseIdb(
  buf: Buffer,
  pos: number,
  optionsEnd: number,
  le: boolean,
  id: number,
): PcapngInterface {
  const linkType = le ? buf.readUInt16LE(pos + 8) : buf.readUInt16BE(pos + 8);
  const rawSnapLen = le ? buf.readUInt32LE(pos + 12) : buf.readUInt32BE(pos + 12);
  let name = '';
  let tsresol = 6;
  let tsoffset = 0;
  let p = pos + 16;
  while (p + 4 <= optionsEnd) {
    const code = le ? buf.readUInt16LE(p) : buf.readUInt16BE(p);
    const len = le ? buf.readUInt16LE(p + 2) : buf.readUInt16BE(p + 2);
    const v = p + 4;
    if (code === OPT_ENDOFOPT || v + len > optionsEnd) break;
    if (code === IF_NAME) {
      name = buf.toString('utf8', v, v + len).replace(/\0+$/, '');
    } else if (code === IF_TSRESOL && len >= 1) {
      tsresol = buf[v] as number;
    } else if (code === IF_TSOFFSET && len >= 8) {
      tsoffset = Number(le ? buf.readBigInt64LE(v) : buf.readBigInt64BE(v));
    }
    p = v + ((len + 3) & ~3);
  }
  const ts = new TsConverter(tsresol, tsoffset);
  return {
    iface: {
      id,
      linkType,
      snapLen: rawSnapLen === 0 ? DEFAULT_SNAPLEN : rawSnapLen,
      tsPrecision: ts.precision,
      name,
    },
    rawSnapLen,
    ts,
  };
}
