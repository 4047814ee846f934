/**
 * The pcap output stage: frames in, rotated classic pcap files (optionally gzip) out, with crash
 * recovery and retention. This module only routes; each job lives in its own file:
 *
 *   pcap-record.ts           record / file header encoding, record scanner
 *   pcap-naming.ts           final and temporary names, source-name sanitising
 *   pcap-buffers.ts          record batches, their pool, the write budget (drain)
 *   pcap-gzip-member.ts      pigz-style single gzip member from parallel deflate chunks
 *   pcap-file-writer.ts      one temporary file: async writes, gzip, finish
 *   pcap-rotating-stream.ts  one stream per (linkType, snapLen, tsPrecision): rotation, errors
 *   pcap-archive.ts          publish (rename), salvage, retention, files of earlier runs
 *   pcap-recovery.ts         truncating / rewriting a broken temporary
 *
 * Lifecycle of the directory:
 *
 *   open():  check outDir (TG_ERR_OUTPUT_DIR) → register finished files of earlier runs →
 *            salvage leftover temporaries (→ final names, counted) → retention
 *   write(): frame → its stream (first stream named after the source, others suffixed with the
 *            link type) → batch; a file is created by the first frame that needs one
 *   drain(): waits while more than maxBufferedBytes are on their way to the disk
 *   tick():  wall clock: rotate at interval boundaries without frames; flush partial batches;
 *            age retention; resolves when files closed so far are published
 *   close(): finish every open file (valid gzip trailer, fdatasync, rename), then resolve
 *
 * Invariants: write() never throws and never blocks; everything asynchronous (file finishing,
 * archive operations) is tracked so tick()/close() can wait for it; errors after open() are
 * counted in `stats` and reported through `onWriteError`, never thrown. One PcapOutput per
 * outDir: a second process would salvage the first one's temporaries.
 */
import type { CaptureInterface, FrameView } from '../capture/frame.ts';
import { TapgateError } from '../errors.ts';
import { PcapArchive, checkOutputDir } from './pcap-archive.ts';
import { diskSpace, isNoSpace } from './pcap-disk-space.ts';
import { PcapFileLog } from './pcap-file-log.ts';
import { BatchPool, WriteBudget } from './pcap-buffers.ts';
import type { PcapWriteOp } from './pcap-file-writer.ts';
import { linkTypeName, sanitizeSourceName } from './pcap-naming.ts';
import { PcapRotatingStream, type PcapStreamContext } from './pcap-rotating-stream.ts';
import {
  newPcapOutputStats,
  resolvePcapOutputOptions,
  type FinishedPcapFile,
  type PcapOutputOptions,
  type PcapOutputStats,
  type ResolvedPcapOutputOptions,
} from './pcap-types.ts';

export {
  DEFAULT_GZIP_LEVEL,
  type FinishedPcapFile,
  type PcapCloseReason,
  type PcapOutputOptions,
  type PcapOutputStats,
  type PcapTimestamp,
} from './pcap-types.ts';

const DEFAULT_SNAPLEN = 262144;
/** Smallest batch submitted early for small size rotation (gzip size feedback). */
const MIN_FLUSH_BYTES = 16 * 1024;
/** Batches kept beyond what the write budget can hold in flight (reuse avoids page faults). */
const SPARE_BATCHES = 4;

export class PcapOutput {
  readonly stats: PcapOutputStats;
  readonly #o: ResolvedPcapOutputOptions;
  readonly #ctx: PcapStreamContext;
  readonly #archive: PcapArchive;
  readonly #budget: WriteBudget;
  readonly #source: string;
  readonly #streams: PcapRotatingStream[] = [];
  readonly #byKey = new Map<string, PcapRotatingStream>();
  readonly #byIface = new WeakMap<CaptureInterface, PcapRotatingStream>();
  #lastIface: CaptureInterface | null = null;
  #lastStream: PcapRotatingStream | null = null;
  readonly #pending = new Set<Promise<void>>();
  readonly #fileLog = new PcapFileLog();
  #newestPacketSec = -Infinity;
  #closed = false;
  #closing: Promise<void> | null = null;
  /** A free-space check (and early retention) under way while the disk is full. */
  #spaceCheck: Promise<void> | null = null;

  private constructor(o: ResolvedPcapOutputOptions) {
    this.#o = o;
    this.stats = newPcapOutputStats();
    this.#source = sanitizeSourceName(o.sourceName);
    this.#budget = new WriteBudget(o.maxBufferedBytes, this.stats);
    this.#archive = new PcapArchive({
      outDir: o.outDir,
      retainSizeBytes: o.retainSizeBytes,
      retainAgeSec: o.retainAgeSec,
      gzipLevel: o.gzipLevel,
      clock: o.clock,
      stats: this.stats,
      retentionNowSec: () => this.#retentionNowSec(),
      wallNowMs: o.nowMs,
      reportWriteError: (err, op, path) => {
        this.#reportWriteError(err, op, path);
      },
    });
    const flush =
      o.rotateSizeBytes > 0
        ? Math.min(o.batchBytes, Math.max(MIN_FLUSH_BYTES, Math.floor(o.rotateSizeBytes / 8)))
        : o.batchBytes;
    this.#ctx = {
      o,
      stats: this.stats,
      pool: new BatchPool(
        o.batchBytes,
        Math.ceil(o.maxBufferedBytes / o.batchBytes) + SPARE_BATCHES,
      ),
      budget: this.#budget,
      archive: this.#archive,
      batchFlushBytes: flush,
      track: (p) => {
        this.#track(p);
      },
      reportWriteError: (err, op, path) => {
        this.#reportWriteError(err, op, path);
      },
      fileClosed: (f) => {
        this.#fileClosed(f);
      },
      fileOpened: (stream, path, startSec) => {
        this.#fileLog.opened(stream, path, startSec);
      },
      diskFull: () => this.stats.diskFull,
    };
  }

  /**
   * Checks outDir (creatable, writable: TG_ERR_OUTPUT_DIR otherwise), registers the finished
   * files already there, salvages leftover temporaries, applies retention.
   */
  static async open(opts: PcapOutputOptions): Promise<PcapOutput> {
    const o = resolvePcapOutputOptions(opts);
    await checkOutputDir(o.outDir);
    const out = new PcapOutput(o);
    try {
      await out.#archive.scanExisting();
      await out.#archive.recoverTemporaries((f) => {
        out.#fileClosed(f);
      });
    } catch (e) {
      if (e instanceof TapgateError) throw e;
      throw new TapgateError(
        'TG_ERR_OUTPUT_DIR',
        `pcap output directory ${o.outDir}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
    }
    out.#archive.enforce();
    await out.#archive.idle();
    return out;
  }

  /** Synchronous; copies the frame (it is borrowed). Never throws: problems are counted. */
  write(frame: FrameView): void {
    const stats = this.stats;
    if (this.#closed) {
      stats.packetsDropped++;
      return;
    }
    if (this.#budget.overHardLimit) {
      stats.packetsDropped++;
      stats.packetsDroppedBackpressure++;
      return;
    }
    const iface = frame.iface;
    const s =
      iface === this.#lastIface && this.#lastStream !== null
        ? this.#lastStream
        : this.#streamFor(iface);
    let timeSec: number;
    if (this.#o.clock === 'packet') {
      timeSec = frame.tsSec;
      if (timeSec > this.#newestPacketSec) this.#newestPacketSec = timeSec;
    } else {
      timeSec = Math.floor(this.#o.nowMs() / 1000);
    }
    s.write(frame, timeSec);
  }

  /** Resolves when the bytes on their way to disk are below maxBufferedBytes. */
  /**
   * Files (paths relative to outDir) whose time span overlaps [firstSec, lastSec]: where a flow
   * seen in that span has its packets, as far as its cutoff let them be written.
   */
  filesCovering(firstSec: number, lastSec: number): string[] {
    return this.#fileLog.covering(firstSec, lastSec);
  }

  drain(): Promise<void> {
    return this.#budget.wait();
  }

  /**
   * For live capture, call about once a second: with clock 'wall' it closes files whose interval
   * ended even when no frames arrive; it also pushes partly filled batches towards the disk and
   * applies age retention. Resolves once the files closed so far are published.
   */
  async tick(nowMs: number = this.#o.nowMs()): Promise<void> {
    const nowSec = Math.floor(nowMs / 1000);
    for (const s of this.#streams) s.tick(nowSec);
    this.#archive.enforce();
    if (this.stats.diskFull) this.#checkSpace();
    await this.#settle();
  }

  /** Finishes every open file (flush, gzip trailer, sync, rename). Idempotent; never rejects. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      for (const s of this.#streams) s.close();
      await this.#settle();
    })();
    return this.#closing;
  }

  #streamFor(iface: CaptureInterface): PcapRotatingStream {
    let s = this.#byIface.get(iface);
    if (s === undefined) {
      const snapLen = iface.snapLen > 0 ? iface.snapLen : DEFAULT_SNAPLEN;
      const key = `${iface.linkType}/${snapLen}/${iface.tsPrecision}`;
      s = this.#byKey.get(key);
      if (s === undefined) {
        s = new PcapRotatingStream(
          this.#ctx,
          this.#streamName(iface.linkType, snapLen, iface.tsPrecision),
          iface.linkType,
          snapLen,
          iface.tsPrecision,
        );
        this.#byKey.set(key, s);
        this.#streams.push(s);
      }
      this.#byIface.set(iface, s);
    }
    this.#lastIface = iface;
    this.#lastStream = s;
    return s;
  }

  /** `<source>` for the first stream, `<source>-<linktype>` for others, more detail if taken. */
  #streamName(linkType: number, snapLen: number, tsPrecision: string): string {
    const taken = new Set(this.#streams.map((s) => s.name));
    const candidates = [
      this.#source,
      `${this.#source}-${linkTypeName(linkType)}`,
      `${this.#source}-${linkTypeName(linkType)}-s${snapLen}-${tsPrecision}`,
    ];
    for (const c of candidates) if (!taken.has(c)) return c;
    return `${this.#source}-${linkTypeName(linkType)}-${this.#streams.length}`;
  }

  #retentionNowSec(): number | null {
    if (this.#o.clock === 'wall') return this.#o.nowMs() / 1000;
    return Number.isFinite(this.#newestPacketSec) ? this.#newestPacketSec : null;
  }

  #track(p: Promise<void>): void {
    const q: Promise<void> = p
      .catch((e: unknown) => {
        // Finishing handles its own errors; anything here is a bug, still counted not thrown.
        this.#reportWriteError(
          e instanceof Error ? e : new Error(String(e)),
          'close',
          this.#o.outDir,
        );
      })
      .finally(() => this.#pending.delete(q));
    this.#pending.add(q);
  }

  async #settle(): Promise<void> {
    while (this.#pending.size > 0) {
      await Promise.all(this.#pending);
      await this.#archive.idle();
    }
    await this.#archive.idle();
  }

  /**
   * Disk full: frees space early when retention is configured, and clears the state once the file
   * system has its headroom again (then the temporaries that could not be salvaged are). One check
   * at a time; started by the error itself and by every tick() while the disk stays full.
   */
  #checkSpace(): void {
    if (this.#spaceCheck !== null || this.#closed) return;
    const check = (async () => {
      const dir = this.#o.outDir;
      let space = await diskSpace(dir);
      if (space.freeBytes < space.headroomBytes) {
        if ((await this.#archive.freeOldest(space.headroomBytes - space.freeBytes)) > 0) {
          space = await diskSpace(dir);
        }
      }
      if (space.freeBytes < space.headroomBytes) return;
      this.stats.diskFull = false;
      await this.#archive.retryPendingSalvage((f) => {
        this.#fileClosed(f);
      });
    })();
    this.#spaceCheck = check;
    this.#track(
      check
        .catch((e: unknown) => {
          this.#reportWriteError(
            e instanceof Error ? e : new Error(String(e)),
            'open',
            this.#o.outDir,
          );
        })
        .finally(() => {
          this.#spaceCheck = null;
        }),
    );
  }

  #reportWriteError(err: NodeJS.ErrnoException, op: PcapWriteOp, path: string): void {
    this.stats.writeErrors++;
    if (isNoSpace(err)) {
      if (!this.stats.diskFull) this.stats.diskFullEvents++;
      this.stats.diskFull = true;
      this.#checkSpace();
    }
    const cb = this.#o.onWriteError;
    if (cb === null) return;
    const e = new TapgateError(
      'TG_ERR_OUTPUT_WRITE',
      `pcap output: ${op} ${path} failed: ${err.code ?? ''} ${err.message}`.replace(/ +/g, ' '),
      { cause: err },
    );
    try {
      cb(e);
    } catch {
      // An observer that throws must not stop capture.
    }
  }

  #fileClosed(f: FinishedPcapFile): void {
    const cb = this.#o.onFileClosed;
    if (cb === null) return;
    try {
      cb(f);
    } catch {
      // An observer that throws must not stop capture.
    }
  }
}
