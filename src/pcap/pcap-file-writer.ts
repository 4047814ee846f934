/**
 * Writes one temporary pcap file, plain or gzip, asynchronously: record batches go in with
 * `submit` (synchronous, never blocks), bytes reach the disk through a queue of positioned
 * `writev` calls, and `finish` flushes, syncs and closes. Renaming is not its job (see
 * pcap-archive.ts); failing is: every error is reported once through `onFailure`, after which
 * the writer only releases what it holds.
 *
 *   submit(batch) ──plain──────────────────────────────┐
 *        └──gzip── crc32 (main thread) → deflate jobs  │  (≤ gzipThreads at once, libuv pool,
 *                  completed in order ────────────────►├─ disk queue → writev(fd, …, position)
 *                                                      │
 *   finish(): wait idle → [gzip: final block + trailer] → fdatasync → close → result
 *
 * Early syncs: every EARLY_SYNC_BYTES written, an fdatasync is started in the background (one at
 * a time) while writing goes on. The kernel otherwise keeps the whole file dirty in the page cache
 * until the fdatasync of finish(), which then waits for all of it to reach the disk (~0.1 s for
 * 80 MB here, at the end of every file); this way the write-back overlaps capture, and finish()
 * only syncs the tail. Durability is unchanged: finish() still syncs before the file is published.
 *
 * State: `#opening` (mkdir + open 'wx' in flight; the temporary name moves to the next seq on
 * EEXIST), `#state` Open | Failed | Closed, `#writing` (one writev in flight), `#running` (deflate
 * jobs in flight), `#earlySync` (the early fdatasync in flight; the fd is closed only after it).
 * Invariants:
 * - the disk queue holds bytes in file order, and `#position` is the file size written so far;
 * - gzip output enters the disk queue strictly in submission order (jobs complete out of order
 *   and wait at the head of `#jobs`);
 * - every byte submitted is in the write budget until it is written or dropped, and every batch
 *   goes back to the pool exactly once (after its bytes are on disk, compressed, or dropped);
 * - after a failure nothing more is written; buffers are released once no syscall uses them.
 */
import { close, fdatasync, mkdir, open, writev } from 'node:fs';
import { crc32 } from 'node:zlib';

import type { BatchPool, RecordBatch, WriteBudget } from './pcap-buffers.ts';
import {
  DEFLATE_FINAL_BLOCK,
  GZIP_HEADER,
  deflateChunk,
  gzipTrailer,
  nextDictionary,
} from './pcap-gzip-member.ts';

export type PcapWriteOp = 'open' | 'write' | 'deflate' | 'sync' | 'close' | 'rename';

export interface PcapFileWriterOptions {
  outDir: string;
  /** Temporary path for the n-th attempt (n > 0 after EEXIST). */
  tempPathFor: (attempt: number) => string;
  compress: boolean;
  /** zlib level for the next gzip chunk (the stream's GzipChunkPolicy; 0 = stored). */
  gzipLevelForChunk: () => number;
  gzipThreads: number;
  pool: BatchPool;
  budget: WriteBudget;
  /** Bytes that reached the disk. */
  onDiskBytes: (n: number) => void;
  /** A gzip chunk was deflated at `level`: `inBytes` became `outBytes` (feeds size estimates). */
  onDeflated: (inBytes: number, outBytes: number, level: number) => void;
  /** Called once, asynchronously, on the first error. */
  onFailure: (err: NodeJS.ErrnoException, op: PcapWriteOp, path: string) => void;
}

export interface PcapFileWriteResult {
  /** The temporary on disk, or null when it was never created. */
  tempPath: string | null;
  /** True when every submitted byte is on disk and the file was synced and closed. */
  complete: boolean;
  /** Bytes written (the file size when complete). */
  sizeBytes: number;
}

/** Bytes the gzip framing adds around the deflate chunks (header, final block, trailer). */
export const GZIP_FRAMING_BYTES = GZIP_HEADER.length + DEFLATE_FINAL_BLOCK.length + 8;

const MAX_OPEN_ATTEMPTS = 1000;
const MAX_IOVECS = 256;
const MAX_WRITE_BYTES = 8 * 1024 * 1024;
/** Bytes written since the previous early sync that start the next one. */
const EARLY_SYNC_BYTES = 8 * 1024 * 1024;

const St = { Open: 0, Failed: 1, Closed: 2 } as const;
type St = (typeof St)[keyof typeof St];

interface DiskChunk {
  buf: Buffer;
  /** The batch to give back once `buf` is written (plain), else null (gzip output). */
  batch: RecordBatch | null;
}

interface GzipJob {
  batch: RecordBatch | null;
  inputBytes: number;
  input: Buffer;
  dict: Buffer | null;
  out: Buffer | null;
  level: number;
  started: boolean;
  done: boolean;
}

function asErrno(e: unknown): NodeJS.ErrnoException {
  return e instanceof Error ? e : new Error(String(e));
}

export class PcapFileWriter {
  readonly #o: PcapFileWriterOptions;
  #state: St = St.Open;
  #opening = true;
  #fd = -1;
  #tempPath: string | null = null;
  #disk: DiskChunk[] = [];
  #writing = false;
  #earlySync: Promise<void> | null = null;
  /** File position when the last early sync started. */
  #earlySyncPosition = 0;
  #position = 0;
  #jobs: GzipJob[] = [];
  #running = 0;
  #crc = 0;
  #isize = 0;
  #dict: Buffer | null = null;
  #inDone = 0;
  #outDone = 0;
  #idleWaiters: (() => void)[] = [];
  #finishing = false;

  constructor(o: PcapFileWriterOptions) {
    this.#o = o;
    if (o.compress) this.#queueDisk(GZIP_HEADER, null);
    this.#open(0);
  }

  get failed(): boolean {
    return this.#state === St.Failed;
  }

  get tempPath(): string | null {
    return this.#tempPath;
  }

  /** Compressed / uncompressed bytes of the chunks deflated so far (0 before the first). */
  get compressionRatio(): number {
    return this.#inDone > 0 ? this.#outDone / this.#inDone : 0;
  }

  /**
   * Estimated size on disk once `logicalBytes` (everything handed to this file, including what the
   * stream still holds) is compressed: known output + the rest at the observed ratio, or at
   * `priorRatio` before any chunk completed.
   */
  estimatedCompressedBytes(logicalBytes: number, priorRatio: number): number {
    const ratio = this.#inDone > 0 ? this.#outDone / this.#inDone : priorRatio;
    return GZIP_FRAMING_BYTES + this.#outDone + (logicalBytes - this.#inDone) * ratio;
  }

  /** Takes ownership of `batch` (whole records; the first batch starts with the pcap header). */
  submit(batch: RecordBatch): void {
    const o = this.#o;
    const n = batch.used;
    if (this.#state !== St.Open || n === 0) {
      o.pool.give(batch);
      return;
    }
    const input = batch.buf.subarray(0, n);
    if (!o.compress) {
      this.#queueDisk(input, batch);
      this.#pump();
      return;
    }
    this.#crc = crc32(input, this.#crc);
    this.#isize = (this.#isize + n) % 0x1_0000_0000;
    const dict = this.#dict;
    this.#dict = nextDictionary(dict, input);
    o.budget.add(n);
    this.#jobs.push({
      batch,
      inputBytes: n,
      input,
      dict,
      out: null,
      level: 0,
      started: false,
      done: false,
    });
    this.#startJobs();
  }

  /** Flushes everything, writes the gzip trailer, syncs and closes. Call once; never rejects. */
  async finish(): Promise<PcapFileWriteResult> {
    this.#finishing = true;
    await this.#whenIdle();
    if (this.#state === St.Open && this.#o.compress) {
      const tail = Buffer.concat([DEFLATE_FINAL_BLOCK, gzipTrailer(this.#crc, this.#isize)]);
      this.#queueDisk(tail, null);
      this.#pump();
      await this.#whenIdle();
    }
    // Concurrent with an early sync still in flight, if any: this one covers every byte written.
    if (this.#state === St.Open) await this.#sync();
    await this.#earlySync;
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      await new Promise<void>((resolve) => {
        close(fd, (err) => {
          if (err) this.#fail(err, 'close');
          resolve();
        });
      });
    }
    const complete = this.#state === St.Open;
    if (complete) this.#state = St.Closed;
    return { tempPath: this.#tempPath, complete, sizeBytes: this.#position };
  }

  #open(attempt: number): void {
    const o = this.#o;
    mkdir(o.outDir, { recursive: true }, (mkErr) => {
      if (mkErr) {
        this.#opened(mkErr, -1, o.outDir);
        return;
      }
      const path = o.tempPathFor(attempt);
      open(path, 'wx', 0o644, (err, fd) => {
        if (err?.code === 'EEXIST' && attempt + 1 < MAX_OPEN_ATTEMPTS) {
          this.#open(attempt + 1);
          return;
        }
        this.#opened(err, fd, path);
      });
    });
  }

  #opened(err: NodeJS.ErrnoException | null, fd: number, path: string): void {
    this.#opening = false;
    if (err) {
      this.#fail(err, 'open', path);
      return;
    }
    this.#fd = fd;
    this.#tempPath = path;
    this.#pump();
  }

  #queueDisk(buf: Buffer, batch: RecordBatch | null): void {
    this.#o.budget.add(buf.length);
    this.#disk.push({ buf, batch });
  }

  #startJobs(): void {
    const o = this.#o;
    for (const job of this.#jobs) {
      if (this.#running >= o.gzipThreads) break;
      if (job.started) continue;
      job.started = true;
      this.#running++;
      job.level = o.gzipLevelForChunk();
      deflateChunk(job.input, job.level, job.dict, (err, out) => {
        this.#deflated(job, err, out);
      });
      job.dict = null;
    }
  }

  #deflated(job: GzipJob, err: Error | null, out: Buffer): void {
    const o = this.#o;
    this.#running--;
    job.done = true;
    o.budget.release(job.inputBytes);
    if (job.batch !== null) o.pool.give(job.batch);
    job.batch = null;
    if (err !== null) {
      this.#fail(asErrno(err), 'deflate');
    } else if (this.#state === St.Open) {
      job.out = out;
      o.onDeflated(job.inputBytes, out.length, job.level);
    }
    if (this.#state === St.Open) {
      while (this.#jobs.length > 0 && this.#jobs[0]?.done === true) {
        const head = this.#jobs.shift();
        if (head?.out) {
          this.#inDone += head.inputBytes;
          this.#outDone += head.out.length;
          this.#queueDisk(head.out, null);
        }
      }
      this.#startJobs();
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#writing || this.#opening || this.#state !== St.Open || this.#disk.length === 0) {
      this.#checkIdle();
      return;
    }
    const bufs: Buffer[] = [];
    let bytes = 0;
    for (const c of this.#disk) {
      bufs.push(c.buf);
      bytes += c.buf.length;
      if (bufs.length >= MAX_IOVECS || bytes >= MAX_WRITE_BYTES) break;
    }
    this.#writing = true;
    writev(this.#fd, bufs, this.#position, (err, written) => {
      this.#written(err, written);
    });
  }

  #written(err: NodeJS.ErrnoException | null, written: number): void {
    this.#writing = false;
    if (this.#state !== St.Open) {
      this.#dropQueued();
      this.#checkIdle();
      return;
    }
    if (err === null && written === 0) {
      err = Object.assign(new Error('writev wrote 0 bytes'), { code: 'EIO' });
    }
    if (err) {
      this.#fail(err, 'write');
      return;
    }
    const o = this.#o;
    this.#position += written;
    o.onDiskBytes(written);
    this.#maybeSyncEarly();
    let left = written;
    while (left > 0) {
      const c = this.#disk[0];
      if (c === undefined) break;
      if (c.buf.length <= left) {
        left -= c.buf.length;
        this.#disk.shift();
        o.budget.release(c.buf.length);
        if (c.batch !== null) o.pool.give(c.batch);
      } else {
        c.buf = c.buf.subarray(left);
        o.budget.release(left);
        left = 0;
      }
    }
    this.#pump();
  }

  #maybeSyncEarly(): void {
    if (this.#finishing || this.#earlySync !== null) return;
    if (this.#position - this.#earlySyncPosition < EARLY_SYNC_BYTES) return;
    this.#earlySyncPosition = this.#position;
    this.#earlySync = this.#sync().then(() => {
      this.#earlySync = null;
    });
  }

  /** fdatasync of the open file; a failure fails the writer ('sync'). Never rejects. */
  #sync(): Promise<void> {
    const fd = this.#fd;
    return new Promise<void>((resolve) => {
      fdatasync(fd, (err) => {
        if (err) this.#fail(err, 'sync');
        resolve();
      });
    });
  }

  #fail(err: NodeJS.ErrnoException, op: PcapWriteOp, path?: string): void {
    if (this.#state !== St.Open) return;
    this.#state = St.Failed;
    if (!this.#writing) this.#dropQueued();
    this.#o.onFailure(err, op, path ?? this.#tempPath ?? this.#o.outDir);
    this.#checkIdle();
  }

  /** Releases queued disk chunks and unstarted jobs; only when no writev uses their buffers. */
  #dropQueued(): void {
    const o = this.#o;
    for (const c of this.#disk) {
      o.budget.release(c.buf.length);
      if (c.batch !== null) o.pool.give(c.batch);
    }
    this.#disk = [];
    const running: GzipJob[] = [];
    for (const j of this.#jobs) {
      if (j.started && !j.done) {
        running.push(j);
      } else if (!j.started) {
        o.budget.release(j.inputBytes);
        if (j.batch !== null) o.pool.give(j.batch);
        j.batch = null;
      }
    }
    this.#jobs = running;
  }

  #whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#checkIdle();
    });
  }

  #checkIdle(): void {
    if (this.#idleWaiters.length === 0 || !this.#finishing) return;
    if (this.#opening || this.#writing || this.#running > 0) return;
    if (this.#state === St.Open && (this.#jobs.length > 0 || this.#disk.length > 0)) return;
    const ws = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of ws) w();
  }
}
