/**
 * Public types of the pcap output stage: options (with their defaults and validation), the file
 * report handed to `onFileClosed`, and the counters.
 */
import { availableParallelism } from 'node:os';

import type { TsPrecision } from '../capture/frame.ts';
import { TapgateError } from '../errors.ts';
import { DEFAULT_GZIP_MIN_SAVING } from './pcap-gzip-policy.ts';

export interface PcapOutputOptions {
  outDir: string;
  /** Input file basename or interface name; sanitised for file names (see pcap-naming.ts). */
  sourceName: string;
  /** gzip on the fly (`.pcap.gz`, one gzip member per file). */
  compress: boolean;
  /** 0 = off. Boundaries are epoch-aligned (UTC) multiples of the interval. */
  rotateIntervalSec: number;
  /** 0 = off. Bytes on disk; with `compress`, the compressed size (estimated while writing). */
  rotateSizeBytes: number;
  /** 0 = off. Total size of finished files under outDir, files from earlier runs included. */
  retainSizeBytes: number;
  /** 0 = off. Age of finished files, against the newest packet ('packet') or Date.now() ('wall'). */
  retainAgeSec: number;
  /** 'packet': time comes from frame timestamps (file input); 'wall': from the clock and tick(). */
  clock: 'packet' | 'wall';
  onFileClosed?: (f: FinishedPcapFile) => void;
  /** Every write error (TG_ERR_OUTPUT_WRITE, errno error as `cause`); capture goes on regardless. */
  onWriteError?: (err: TapgateError) => void;
  /** zlib level 1..9. Default 1 (see DEFAULT_GZIP_LEVEL). */
  gzipLevel?: number;
  /**
   * 0..1: while deflate saves less than this fraction of a stream's bytes, its chunks are stored
   * uncompressed (with a deflated probe now and then; see pcap-gzip-policy.ts). 0 = always
   * deflate. Default 0.2.
   */
  gzipMinSaving?: number;
  /** Chunks of one file deflated at once on the libuv pool. Default min(3, CPUs). */
  gzipThreads?: number;
  /** Size of the record batches handed to the writers. Default 1 MiB. */
  batchBytes?: number;
  /** drain() waits above this many buffered bytes; frames are dropped above 4×. Default 32 MiB. */
  maxBufferedBytes?: number;
  /** After a write error, wait this long (or until the next interval) before a new file. */
  errorRetryMs?: number;
  /** Wall clock in ms (tests inject one). Default Date.now. */
  nowMs?: () => number;
}

/**
 * Level 1. Measured with 1514-byte frames through PcapOutput to tmpfs (2-vCPU VM, 2 deflate
 * threads): half random / half HTTP-like payloads 86 MB/s at level 1 vs 52 MB/s at level 6 for
 * 4.7% larger files; text-only 177 vs 48 MB/s (+28% size); random-only 55 vs 48 MB/s (same size).
 * A sensor must keep up with the link first; level 6 is one option away.
 */
export const DEFAULT_GZIP_LEVEL = 1;
export const DEFAULT_BATCH_BYTES = 1024 * 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 32 * 1024 * 1024;
export const DEFAULT_ERROR_RETRY_MS = 5000;

export interface ResolvedPcapOutputOptions extends Required<
  Omit<PcapOutputOptions, 'onFileClosed' | 'onWriteError'>
> {
  onFileClosed: ((f: FinishedPcapFile) => void) | null;
  onWriteError: ((err: TapgateError) => void) | null;
}

function checkCount(name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new TapgateError(
      'TG_ERR_CONFIG',
      `pcap output: ${name} must be an integer in [${min}, ${max}], got ${v}`,
    );
  }
}

export function resolvePcapOutputOptions(o: PcapOutputOptions): ResolvedPcapOutputOptions {
  if (typeof o.outDir !== 'string' || o.outDir.length === 0) {
    throw new TapgateError('TG_ERR_CONFIG', 'pcap output: outDir is required');
  }
  const clock: string = o.clock; // from YAML/CLI: checked at run time as well
  if (clock !== 'packet' && clock !== 'wall') {
    throw new TapgateError('TG_ERR_CONFIG', `pcap output: clock must be 'packet' or 'wall'`);
  }
  const r: ResolvedPcapOutputOptions = {
    outDir: o.outDir,
    sourceName: o.sourceName,
    compress: o.compress,
    rotateIntervalSec: o.rotateIntervalSec,
    rotateSizeBytes: o.rotateSizeBytes,
    retainSizeBytes: o.retainSizeBytes,
    retainAgeSec: o.retainAgeSec,
    clock: o.clock,
    onFileClosed: o.onFileClosed ?? null,
    onWriteError: o.onWriteError ?? null,
    gzipLevel: o.gzipLevel ?? DEFAULT_GZIP_LEVEL,
    gzipMinSaving: o.gzipMinSaving ?? DEFAULT_GZIP_MIN_SAVING,
    gzipThreads: o.gzipThreads ?? Math.max(1, Math.min(3, availableParallelism())),
    batchBytes: o.batchBytes ?? DEFAULT_BATCH_BYTES,
    maxBufferedBytes: o.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    errorRetryMs: o.errorRetryMs ?? DEFAULT_ERROR_RETRY_MS,
    nowMs: o.nowMs ?? Date.now,
  };
  checkCount('rotateIntervalSec', r.rotateIntervalSec, 0);
  checkCount('rotateSizeBytes', r.rotateSizeBytes, 0);
  checkCount('retainSizeBytes', r.retainSizeBytes, 0);
  checkCount('retainAgeSec', r.retainAgeSec, 0);
  checkCount('gzipLevel', r.gzipLevel, 1, 9);
  if (!(r.gzipMinSaving >= 0 && r.gzipMinSaving <= 1)) {
    throw new TapgateError('TG_ERR_CONFIG', 'pcap output: gzipMinSaving must be from 0 to 1');
  }
  checkCount('gzipThreads', r.gzipThreads, 1, 64);
  checkCount('batchBytes', r.batchBytes, 64 * 1024, 256 * 1024 * 1024);
  checkCount('maxBufferedBytes', r.maxBufferedBytes, r.batchBytes);
  checkCount('errorRetryMs', r.errorRetryMs, 0);
  return r;
}

export interface PcapTimestamp {
  sec: number;
  nsec: number;
}

/** Why a file was finished. */
export type PcapCloseReason = 'interval' | 'size' | 'close' | 'error' | 'recovered';

export interface FinishedPcapFile {
  /** Final path: `<outDir>/YYYY/MM/DD/<stream>-<stamp>[-n].pcap[.gz]`. */
  path: string;
  /** Size on disk (compressed for .gz). */
  sizeBytes: number;
  packets: number;
  /** Timestamps of the first and last record written (file order, not min/max). */
  firstTs: PcapTimestamp;
  lastTs: PcapTimestamp;
  linkType: number;
  snapLen: number;
  tsPrecision: TsPrecision;
  compressed: boolean;
  reason: PcapCloseReason;
}

export interface PcapOutputStats {
  /** Records accepted into a file (encoded into its buffer). */
  packetsWritten: number;
  /** Record bytes accepted (16-byte headers + captured bytes), uncompressed. */
  bytesWritten: number;
  /** Frames not written: no usable file after a write error, buffer hard limit, or after close. */
  packetsDropped: number;
  /** Of packetsDropped, those dropped because the buffers were over the hard limit. */
  packetsDroppedBackpressure: number;
  /** Records accepted but missing from the file after a write error (salvage counts survivors). */
  packetsLost: number;
  framesTrimmedToSnaplen: number;
  /** Bytes written to disk (compressed for gzip, pcap and gzip headers included). */
  fileBytesWritten: number;
  filesOpened: number;
  /** Files finished and renamed to their final name in this run (salvaged ones included). */
  filesClosed: number;
  /** Temporaries currently being written. */
  filesOpen: number;
  /** Failed file operations (open, write, deflate, sync, close, rename). */
  writeErrors: number;
  /** Bytes handed to writers and not yet on disk. */
  bufferedBytes: number;
  /** drain() calls that had to wait. */
  drainWaits: number;
  retentionDeletedFiles: number;
  retentionDeletedBytes: number;
  retentionErrors: number;
  /** Times the output file system filled up (ENOSPC / EDQUOT), and whether it is full now. */
  diskFullEvents: number;
  diskFull: boolean;
  /** Of the retention deletions, those made early to free a full disk (retention configured). */
  diskFullDeletedFiles: number;
  /** Temporaries a write error left that could not be salvaged yet (no space): retried later. */
  salvagePending: number;
  /** Finished files currently known under outDir (what retention manages), and their bytes. */
  archiveFiles: number;
  archiveBytes: number;
  /** Temporaries found at open() and renamed to a final name (after truncation/rewrite). */
  recoveredFiles: number;
  recoveredPackets: number;
  /** Temporaries without a readable pcap header: renamed to `<final>.unrecoverable`, kept. */
  unrecoverableFiles: number;
  /** Finished files found under outDir at open(), and their bytes. */
  existingFiles: number;
  existingBytes: number;
  /** gzip chunks deflated, and stored uncompressed because deflate did not pay (see gzipMinSaving). */
  gzipChunksDeflated: number;
  gzipChunksStored: number;
}

export function newPcapOutputStats(): PcapOutputStats {
  return {
    packetsWritten: 0,
    bytesWritten: 0,
    packetsDropped: 0,
    packetsDroppedBackpressure: 0,
    packetsLost: 0,
    framesTrimmedToSnaplen: 0,
    fileBytesWritten: 0,
    filesOpened: 0,
    filesClosed: 0,
    filesOpen: 0,
    writeErrors: 0,
    bufferedBytes: 0,
    drainWaits: 0,
    retentionDeletedFiles: 0,
    retentionDeletedBytes: 0,
    retentionErrors: 0,
    diskFullEvents: 0,
    diskFull: false,
    diskFullDeletedFiles: 0,
    salvagePending: 0,
    archiveFiles: 0,
    archiveBytes: 0,
    recoveredFiles: 0,
    recoveredPackets: 0,
    unrecoverableFiles: 0,
    existingFiles: 0,
    existingBytes: 0,
    gzipChunksDeflated: 0,
    gzipChunksStored: 0,
  };
}
