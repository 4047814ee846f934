/**
 * Frames packed into one ArrayBuffer, so that many of them cross a thread boundary in a single
 * `postMessage(batch, [batch])` (a transfer, not a copy).
 *
 * Layout, all little-endian, every record starting on a 4-byte boundary:
 *
 *   batch header (16 bytes)   u32 magic 'TGFB' | u32 usedBytes (header included) | u32 frames | u32 0
 *   record (20 bytes + data)  u32 tsSec | u32 tsNsec | u32 capLen | u32 origLen
 *                             | u16 ifaceIndex | u16 0 | capLen bytes | 0..3 bytes of padding
 *
 * A batch buffer is usually larger than what it holds: `usedBytes` says where the records end, so a
 * buffer travels whole (transferring is free at any size) and can be reused for the next batch.
 *
 *   FrameBatchWriter.append() ×N ─► take() ─► postMessage(batch, [batch]) ─► walkFrameBatch()
 *
 * The channel is internal: a batch that does not parse is a bug on the writing side, reported as
 * TG_ERR_INPUT_FORMAT, never skipped.
 */
import { TapgateError } from '../errors.ts';
import type { CaptureInterface, FrameView } from './frame.ts';

/** 'TGFB' read as a little-endian u32. */
const BATCH_MAGIC = 0x42464754;
export const BATCH_HEADER_BYTES = 16;
export const BATCH_RECORD_HEADER_BYTES = 20;
/** Smallest buffer a writer accepts: room for the batch header and a few small records. */
export const MIN_BATCH_BYTES = 64;
/** Frames of at most this many bytes are copied by a plain loop (cheaper than a native call). */
const LOOP_COPY_MAX_BYTES = 64;

const pad4 = (n: number): number => (n + 3) & ~3;

/** Bytes one frame of `capLen` bytes occupies in a batch (record header and padding included). */
export function batchRecordBytes(capLen: number): number {
  return BATCH_RECORD_HEADER_BYTES + pad4(capLen);
}

/**
 * Packs frames into batch buffers for one destination.
 *
 * `append` returns false only when the current batch already holds frames and the new one does
 * not fit: the caller then `take()`s the batch, sends it and appends again. On an empty batch
 * `append` always succeeds: a frame larger than the capacity gets an oversize buffer of its own,
 * sized to that one frame, which is full as soon as it is written.
 *
 * Buffers are allocated lazily, one per batch (never per frame); `reuse(buffer)` installs a buffer
 * that came back from the consumer instead, for callers that keep a pool.
 */
export class FrameBatchWriter {
  readonly #capacity: number;
  #buffer: ArrayBuffer | null = null;
  #view: DataView | null = null;
  #u8: Uint8Array | null = null;
  /** Usable size of the current buffer (a multiple of 4). */
  #limit = 0;
  #pos = BATCH_HEADER_BYTES;
  #frames = 0;

  /** `capacityBytes`: size of each batch buffer this writer allocates (at least MIN_BATCH_BYTES). */
  constructor(capacityBytes: number) {
    if (!Number.isSafeInteger(capacityBytes) || capacityBytes < MIN_BATCH_BYTES) {
      throw new RangeError(
        `frame batch capacity ${String(capacityBytes)} is below ${MIN_BATCH_BYTES} bytes`,
      );
    }
    this.#capacity = capacityBytes;
  }

  /** Frames in the current batch. */
  get frames(): number {
    return this.#frames;
  }

  /** Bytes the current batch occupies (batch header and records); 0 while it holds no frame. */
  get bytes(): number {
    return this.#frames === 0 ? 0 : this.#pos;
  }

  /** Record bytes (see `batchRecordBytes`) the current batch still has room for. */
  get freeBytes(): number {
    return (this.#buffer === null ? this.#capacity & ~3 : this.#limit) - this.#pos;
  }

  /**
   * Appends one frame, copying `data[offset .. offset + capLen)`.
   * @returns false when the batch holds frames and this one does not fit (take() and retry).
   */
  append(
    ifaceIndex: number,
    tsSec: number,
    tsNsec: number,
    data: Buffer,
    offset: number,
    capLen: number,
    origLen: number,
  ): boolean {
    if (ifaceIndex >>> 0 !== ifaceIndex || ifaceIndex > 0xffff) {
      throw new RangeError(`interface index ${String(ifaceIndex)} out of 0..65535`);
    }
    if (offset < 0 || capLen < 0 || offset + capLen > data.length) {
      throw new RangeError(
        `frame ${String(offset)}+${String(capLen)} outside its ${String(data.length)}-byte buffer`,
      );
    }
    const need = batchRecordBytes(capLen);
    if (this.#buffer === null) this.#install(new ArrayBuffer(this.#capacity));
    if (this.#pos + need > this.#limit) {
      if (this.#frames > 0) return false;
      // Alone and still too large: an oversize batch holding just this frame.
      this.#install(new ArrayBuffer(BATCH_HEADER_BYTES + need));
    }
    const view = this.#view!;
    const u8 = this.#u8!;
    const pos = this.#pos;
    view.setUint32(pos, tsSec, true);
    view.setUint32(pos + 4, tsNsec, true);
    view.setUint32(pos + 8, capLen, true);
    view.setUint32(pos + 12, origLen, true);
    view.setUint32(pos + 16, ifaceIndex, true); // u16 index, u16 reserved = 0
    const at = pos + BATCH_RECORD_HEADER_BYTES;
    if (capLen <= LOOP_COPY_MAX_BYTES) {
      for (let i = 0; i < capLen; i++) u8[at + i] = data[offset + i]!;
    } else {
      data.copy(u8, at, offset, offset + capLen); // no view allocated per frame
    }
    for (let i = at + capLen; i < pos + need; i++) u8[i] = 0;
    this.#pos = pos + need;
    this.#frames++;
    return true;
  }

  /**
   * Hands over the current batch (header filled in) and starts a new one, or returns null when it
   * holds no frame.
   *
   * `copyBelowBytes`: when the batch occupies fewer bytes than this, hand over a right-sized copy
   * and keep the buffer for the next batch. Timer flushes of nearly empty batches use it, so that a
   * quiet link does not cost a full-size buffer per flush.
   */
  take(copyBelowBytes = 0): ArrayBuffer | null {
    if (this.#frames === 0 || this.#buffer === null) return null;
    const view = this.#view!;
    view.setUint32(0, BATCH_MAGIC, true);
    view.setUint32(4, this.#pos, true);
    view.setUint32(8, this.#frames, true);
    view.setUint32(12, 0, true);
    let out: ArrayBuffer;
    if (this.#pos < copyBelowBytes) {
      out = this.#buffer.slice(0, this.#pos);
    } else {
      out = this.#buffer;
      this.#buffer = this.#view = this.#u8 = null;
      this.#limit = 0;
    }
    this.#pos = BATCH_HEADER_BYTES;
    this.#frames = 0;
    return out;
  }

  /**
   * Continues in `buffer` (one that came back from the consumer). Frames not yet taken are
   * discarded: call it after take().
   */
  reuse(buffer: ArrayBuffer): void {
    if (buffer.byteLength < MIN_BATCH_BYTES) {
      throw new RangeError(
        `frame batch buffer of ${String(buffer.byteLength)} bytes is below ${MIN_BATCH_BYTES}`,
      );
    }
    this.#install(buffer);
  }

  #install(buffer: ArrayBuffer): void {
    this.#buffer = buffer;
    this.#view = new DataView(buffer);
    this.#u8 = new Uint8Array(buffer);
    this.#limit = buffer.byteLength & ~3;
    this.#pos = BATCH_HEADER_BYTES;
    this.#frames = 0;
  }
}

function malformed(what: string): TapgateError {
  return new TapgateError('TG_ERR_INPUT_FORMAT', `frame batch: ${what}`);
}

/** A DataView over a batch whose header checks out (a detached buffer has 0 bytes). */
function headerView(batch: ArrayBuffer): DataView {
  if (batch.byteLength < BATCH_HEADER_BYTES) {
    throw malformed(`${String(batch.byteLength)} bytes, shorter than its header (detached?)`);
  }
  const view = new DataView(batch);
  const magic = view.getUint32(0, true);
  if (magic !== BATCH_MAGIC) throw malformed(`bad magic 0x${magic.toString(16)}`);
  const used = view.getUint32(4, true);
  if (used < BATCH_HEADER_BYTES || used > batch.byteLength || (used & 3) !== 0) {
    throw malformed(`used size ${String(used)} in a ${String(batch.byteLength)}-byte buffer`);
  }
  return view;
}

/** Frames in a batch, from its header (the records are not walked). */
export function frameBatchCount(batch: ArrayBuffer): number {
  return headerView(batch).getUint32(8, true);
}

/**
 * Calls `consumer.onFrame(frame)` for every frame of `batch`, rewriting the one `frame` object:
 * `frame.data` is a single Buffer over the batch (borrowed, like any FrameView) and `frame.iface`
 * is `ifaces[record's ifaceIndex]`.
 *
 * Frames before a malformed record have already been delivered when the error is thrown.
 * @returns the number of frames walked
 * @throws TapgateError TG_ERR_INPUT_FORMAT for a batch that does not parse or names an interface
 *   outside `ifaces`
 */
export function walkFrameBatch(
  batch: ArrayBuffer,
  ifaces: readonly CaptureInterface[],
  frame: FrameView,
  consumer: { onFrame(f: FrameView): void },
): number {
  const view = headerView(batch);
  const used = view.getUint32(4, true);
  const expected = view.getUint32(8, true);
  const data = Buffer.from(batch, 0, used);
  frame.data = data;
  let pos = BATCH_HEADER_BYTES;
  let n = 0;
  while (pos < used) {
    if (pos + BATCH_RECORD_HEADER_BYTES > used) {
      throw malformed(`record header at ${String(pos)} runs past ${String(used)}`);
    }
    const capLen = view.getUint32(pos + 8, true);
    const end = pos + batchRecordBytes(capLen);
    if (end > used) {
      throw malformed(
        `record at ${String(pos)} (capLen ${String(capLen)}) runs past ${String(used)}`,
      );
    }
    const ifaceIndex = view.getUint16(pos + 16, true);
    const iface = ifaces[ifaceIndex];
    if (iface === undefined) {
      throw malformed(
        `record at ${String(pos)} names interface ${String(ifaceIndex)} of ${String(ifaces.length)}`,
      );
    }
    frame.tsSec = view.getUint32(pos, true);
    frame.tsNsec = view.getUint32(pos + 4, true);
    frame.capLen = capLen;
    frame.origLen = view.getUint32(pos + 12, true);
    frame.offset = pos + BATCH_RECORD_HEADER_BYTES;
    frame.iface = iface;
    consumer.onFrame(frame);
    n++;
    pos = end;
  }
  if (n !== expected) {
    throw malformed(`header says ${String(expected)} frames, records hold ${String(n)}`);
  }
  return n;
}
