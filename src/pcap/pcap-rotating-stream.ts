/**
 * One output stream: the sequence of rotated pcap files for one (linkType, snapLen, tsPrecision).
 *
 * File lifecycle
 *
 *   (no file) ──first frame──► open: temporary outDir/.<stream>-<stamp>[-seq].pcap[.gz].part,
 *       ▲                            pcap header encoded into the first batch
 *       │                       write: records encoded into the current batch; a full batch is
 *       │                            submitted to the file's writer (async disk / deflate)
 *       │                       rotate when (a) the frame's time is in a later interval than the
 *       │                            file's (epoch-aligned, UTC), (b) the next record would take
 *       │                            the file past rotateSizeBytes (plain: exact; gzip:
 *       │                            estimated), (c) tick() sees the interval end ('wall' clock),
 *       │                            (d) close()
 *       └── finish (async, tracked): writer flush + gzip trailer + fdatasync + close,
 *               then archive.publish → outDir/YYYY/MM/DD/<name> → onFileClosed → retention
 *
 * A file only exists once a frame arrives: an interval without frames produces no file (like
 * tcpdump -G), and tick() still closes the previous file at the boundary. Files of a stream are
 * published and reported in rotation order, although their writers flush concurrently.
 *
 * Durability: tick() also hands the partly filled batch to the writer. Every gzip chunk ends
 * with a sync flush, so after a tick all data so far is on disk in decodable form: a crash loses
 * only what arrived since the last tick (or the last full batch), and salvage recovers the rest.
 *
 * Time: `timeSec` is the frame's timestamp (clock 'packet') or the wall clock ('wall'). The
 * file's stamp is the time that opened it, so names sort by time within a stream; several files
 * opened in the same second get seq 1, 2, … (and the writer skips taken temporary names).
 *
 * Write errors: the writer reports the first failure asynchronously; the stream then drops the
 * file and the batch being filled, hands the temporary to the archive for salvage (complete
 * records survive, under the final name), and drops frames (counted) until the next interval or
 * `errorRetryMs` later, when a new file is tried; while the file system is full (ENOSPC), not
 * before PcapOutput has seen free space again. Capture never stops because of the disk.
 *
 * Invariants: a batch belongs to the current file only (rotation submits it first); `#file` is
 * null or an open file whose writer has not failed to our knowledge; every finished file is
 * tracked until published.
 */
import { GzipChunkPolicy } from './pcap-gzip-policy.ts';
import { join } from 'node:path';

import type { FrameView, TsPrecision } from '../capture/frame.ts';
import type { PcapArchive } from './pcap-archive.ts';
import type { BatchPool, RecordBatch, WriteBudget } from './pcap-buffers.ts';
import { PcapFileWriter, type PcapFileWriteResult, type PcapWriteOp } from './pcap-file-writer.ts';
import { finalRelPath, tempBaseName, type PcapFileName } from './pcap-naming.ts';
import {
  PCAP_RECORD_HEADER_BYTES,
  PcapRecordEncoder,
  encodePcapFileHeader,
} from './pcap-record.ts';
import type {
  FinishedPcapFile,
  PcapCloseReason,
  PcapOutputStats,
  ResolvedPcapOutputOptions,
} from './pcap-types.ts';

const RATIO_WINDOW_BYTES = 64 * 1024 * 1024;

/** What the streams share, owned by PcapOutput. */
export interface PcapStreamContext {
  readonly o: ResolvedPcapOutputOptions;
  readonly stats: PcapOutputStats;
  readonly pool: BatchPool;
  readonly budget: WriteBudget;
  readonly archive: PcapArchive;
  /** A batch is submitted once this full (less than its size when size rotation is small). */
  readonly batchFlushBytes: number;
  track(p: Promise<void>): void;
  reportWriteError(err: NodeJS.ErrnoException, op: PcapWriteOp, path: string): void;
  fileClosed(f: FinishedPcapFile): void;
  /** A file was opened: its final path relative to the output root and its first packet time. */
  fileOpened(stream: string, relPath: string, startSec: number): void;
  /** The file system is full: no new file until PcapOutput has seen room again. */
  diskFull(): boolean;
}

interface OpenFile {
  readonly writer: PcapFileWriter;
  readonly intervalEndSec: number;
  /** Header + record bytes handed to this file (submitted or in the current batch). */
  logicalBytes: number;
  packets: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
}

export class PcapRotatingStream {
  readonly name: string;
  readonly linkType: number;
  readonly snapLen: number;
  readonly tsPrecision: TsPrecision;
  readonly #ctx: PcapStreamContext;
  readonly #encoder = new PcapRecordEncoder();
  /** Lives as long as the stream: what deflate achieves carries over from file to file. */
  readonly #gzipPolicy: GzipChunkPolicy;
  #file: OpenFile | null = null;
  #batch: RecordBatch | null = null;
  #lastStampSec = -1;
  #lastSeq = 0;
  /** After a write error: no new file before this wall time or this frame time. */
  #broken = false;
  #retryAtMs = 0;
  #retryAtSec = Infinity;
  /**
   * Recent gzip input/output of this stream's chunks (halved past 64 MiB, so it follows the
   * traffic): the ratio used for bytes not compressed yet. 1 until a first chunk completes.
   */
  #gzIn = 0;
  #gzOut = 0;
  /** Completion of the previous file: files are published and reported in rotation order. */
  #lastFinish: Promise<void> = Promise.resolve();

  constructor(
    ctx: PcapStreamContext,
    name: string,
    linkType: number,
    snapLen: number,
    tsPrecision: TsPrecision,
  ) {
    this.#ctx = ctx;
    this.name = name;
    this.linkType = linkType;
    this.snapLen = snapLen;
    this.tsPrecision = tsPrecision;
    this.#gzipPolicy = new GzipChunkPolicy(ctx.o.gzipLevel, ctx.o.gzipMinSaving, ctx.stats);
  }

  /** Hot path: encodes one frame (copied; trimmed to snapLen) into the current file's batch. */
  write(frame: FrameView, timeSec: number): void {
    const ctx = this.#ctx;
    const stats = ctx.stats;
    let capLen = frame.capLen;
    if (capLen > this.snapLen) {
      capLen = this.snapLen;
      stats.framesTrimmedToSnaplen++;
    }
    const recLen = PCAP_RECORD_HEADER_BYTES + capLen;
    let f = this.#file;
    if (f !== null) {
      if (timeSec >= f.intervalEndSec) {
        this.#rotate('interval');
        f = null;
      } else if (
        ctx.o.rotateSizeBytes > 0 &&
        f.packets > 0 &&
        this.#sizeEstimate(f) + recLen > ctx.o.rotateSizeBytes
      ) {
        this.#rotate('size');
        f = null;
      }
    }
    if (f === null) {
      if (
        this.#broken &&
        (ctx.diskFull() || (timeSec < this.#retryAtSec && ctx.o.nowMs() < this.#retryAtMs))
      ) {
        stats.packetsDropped++;
        return;
      }
      f = this.#open(timeSec);
    }
    let b = this.#batch;
    if (b === null || b.buf.length - b.used < recLen) {
      if (b !== null) f.writer.submit(b);
      b = this.#batch = ctx.pool.take(recLen);
    }
    b.used = this.#encoder.encode(b.buf, b.view, b.used, frame, capLen, this.tsPrecision);
    if (f.packets === 0) {
      f.firstSec = frame.tsSec;
      f.firstNsec = frame.tsNsec;
    }
    f.lastSec = frame.tsSec;
    f.lastNsec = frame.tsNsec;
    f.packets++;
    f.logicalBytes += recLen;
    stats.packetsWritten++;
    stats.bytesWritten += recLen;
    if (b.used >= ctx.batchFlushBytes) {
      f.writer.submit(b);
      this.#batch = null;
    }
  }

  /**
   * Periodic work: with the wall clock, closes the file whose interval has ended (even without
   * new frames); in any case hands the partly filled batch to the writer so that data reaches
   * the disk while traffic is slow.
   */
  tick(nowSec: number): void {
    const f = this.#file;
    if (f === null) return;
    if (this.#ctx.o.clock === 'wall' && nowSec >= f.intervalEndSec) {
      this.#rotate('interval');
      return;
    }
    const b = this.#batch;
    if (b !== null && b.used > 0) {
      f.writer.submit(b);
      this.#batch = null;
    }
  }

  /** Finishes the current file, if any (close()). */
  close(): void {
    this.#rotate('close');
  }

  #open(timeSec: number): OpenFile {
    const ctx = this.#ctx;
    const o = ctx.o;
    const seq = timeSec === this.#lastStampSec ? this.#lastSeq + 1 : 0;
    this.#lastStampSec = timeSec;
    this.#lastSeq = seq;
    const name: PcapFileName = {
      stream: this.name,
      stampSec: timeSec,
      seq,
      compressed: o.compress,
    };
    ctx.fileOpened(this.name, finalRelPath(name), timeSec);
    const interval = o.rotateIntervalSec;
    const writer = new PcapFileWriter({
      outDir: o.outDir,
      tempPathFor: (attempt) => join(o.outDir, tempBaseName({ ...name, seq: seq + attempt })),
      compress: o.compress,
      gzipLevelForChunk: () => this.#gzipPolicy.nextLevel(),
      gzipThreads: o.gzipThreads,
      pool: ctx.pool,
      budget: ctx.budget,
      onDiskBytes: (n) => {
        ctx.stats.fileBytesWritten += n;
      },
      onDeflated: (inBytes, outBytes, level) => {
        this.#gzipPolicy.record(level, inBytes, outBytes);
        this.#gzIn += inBytes;
        this.#gzOut += outBytes;
        if (this.#gzIn > RATIO_WINDOW_BYTES) {
          this.#gzIn /= 2;
          this.#gzOut /= 2;
        }
      },
      onFailure: (err, op, path) => {
        this.#failed(file, err, op, path);
      },
    });
    const file: OpenFile = {
      writer,
      intervalEndSec: interval > 0 ? (Math.floor(timeSec / interval) + 1) * interval : Infinity,
      logicalBytes: 0,
      packets: 0,
      firstSec: 0,
      firstNsec: 0,
      lastSec: 0,
      lastNsec: 0,
    };
    if (this.#batch !== null) ctx.pool.give(this.#batch); // cannot hold data: rotation submits
    const b = (this.#batch = ctx.pool.take(ctx.pool.batchBytes));
    b.used = encodePcapFileHeader(b.view, 0, this.linkType, this.snapLen, this.tsPrecision);
    file.logicalBytes = b.used;
    this.#file = file;
    this.#broken = false;
    ctx.stats.filesOpened++;
    ctx.stats.filesOpen++;
    return file;
  }

  #sizeEstimate(f: OpenFile): number {
    if (!this.#ctx.o.compress) return f.logicalBytes;
    return f.writer.estimatedCompressedBytes(
      f.logicalBytes,
      this.#gzIn > 0 ? this.#gzOut / this.#gzIn : 1,
    );
  }

  #rotate(reason: PcapCloseReason): void {
    const f = this.#file;
    if (f === null) return;
    const b = this.#batch;
    if (b !== null) {
      f.writer.submit(b);
      this.#batch = null;
    }
    this.#file = null;
    this.#ctx.track(this.#finishInOrder(f, reason));
  }

  #failed(f: OpenFile, err: NodeJS.ErrnoException, op: PcapWriteOp, path: string): void {
    const ctx = this.#ctx;
    ctx.reportWriteError(err, op, path);
    if (this.#file !== f) return; // already finishing: its finish() sees the failure
    if (this.#batch !== null) ctx.pool.give(this.#batch);
    this.#batch = null;
    this.#file = null;
    this.#broken = true;
    this.#retryAtMs = ctx.o.nowMs() + ctx.o.errorRetryMs;
    this.#retryAtSec = f.intervalEndSec;
    ctx.track(this.#finishInOrder(f, 'error'));
  }

  /** Writers flush concurrently; publishing waits for the previous file of this stream. */
  #finishInOrder(f: OpenFile, reason: PcapCloseReason): Promise<void> {
    const previous = this.#lastFinish;
    const flushed = f.writer.finish();
    const done = this.#finish(f, reason, flushed, previous);
    this.#lastFinish = done.catch(() => undefined);
    return done;
  }

  async #finish(
    f: OpenFile,
    reason: PcapCloseReason,
    flushed: Promise<PcapFileWriteResult>,
    previous: Promise<void>,
  ): Promise<void> {
    const ctx = this.#ctx;
    const stats = ctx.stats;
    const res = await flushed;
    await previous;
    stats.filesOpen--;
    const endSec = ctx.o.clock === 'packet' ? f.lastSec : ctx.o.nowMs() / 1000;
    if (res.tempPath === null) {
      stats.packetsLost += f.packets;
      return;
    }
    if (!res.complete) {
      const s = await ctx.archive.salvage(res.tempPath, 'error');
      stats.packetsLost += Math.max(0, f.packets - (s?.packets ?? 0));
      if (s !== null) {
        stats.filesClosed++;
        ctx.fileClosed(s);
      }
      return;
    }
    const { path, tempKept } = await ctx.archive.publish(res.tempPath, res.sizeBytes, endSec);
    if (path === null) {
      // Reported. A kept temporary is salvaged at the next start; a vanished one is lost.
      if (!tempKept) stats.packetsLost += f.packets;
      return;
    }
    stats.filesClosed++;
    ctx.fileClosed({
      path,
      sizeBytes: res.sizeBytes,
      packets: f.packets,
      firstTs: { sec: f.firstSec, nsec: f.firstNsec },
      lastTs: { sec: f.lastSec, nsec: f.lastNsec },
      linkType: this.linkType,
      snapLen: this.snapLen,
      tsPrecision: this.tsPrecision,
      compressed: ctx.o.compress,
      reason,
    });
  }
}
