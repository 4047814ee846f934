/**
 * Opens an offline capture: a classic pcap or pcapng file, plain or gzip, from a path or stdin.
 *
 *   openCaptureFile(path)
 *     ├─ byte source: MappedFileSource (regular file, native addon) | FileByteSource (path)
 *     │               | StreamByteSource (stdin, '-')
 *     ├─ gzip?  first bytes 1f 8b (never the file name) → GzipByteSource over it
 *     ├─ format: pcap magic (4 variants) | pcapng SHB + byte-order magic → record walker
 *     ├─ reader: MappedChunkReader (mapped, not gzip: windows of the mapping, no copy) |
 *     │          ChunkReader (read into reused buffers with read-ahead)
 *     │          first window read; walker reads the file header / leading blocks
 *     └─ FileCaptureSource: run(consumer) walks every chunk, awaiting consumer.drain() between them
 *
 * GzipByteSource and StreamByteSource are imported when first needed, so that reading a plain file
 * does not load them and node:zlib (start-up time of every run).
 *
 * Only an unusable input throws (`TapgateError` TG_ERR_INPUT_OPEN: cannot be opened or read;
 * TG_ERR_INPUT_FORMAT: empty, not a capture, header cut or corrupt gzip before any capture data).
 * Damage later in the input is counted in `stats.errors` by cause (see file-source-errors.ts).
 */
import type { Readable } from 'node:stream';
import { TapgateError } from '../errors.ts';
import type { CaptureInterface, FrameConsumer, SourceStats } from './frame.ts';
import { errText, FileByteSource, type ByteSource } from './file-byte-source.ts';
import { FileCaptureSource } from './file-capture-source.ts';
import {
  ChunkReader,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_HEADROOM_BYTES,
  type WindowReader,
} from './file-chunk-reader.ts';
import { MappedChunkReader, MappedFileSource } from './file-mapped-source.ts';
import type { RecordWalker } from './file-record-walker.ts';
import { newSourceStats } from './file-source-errors.ts';
import { PCAP_HEADER_BYTES, pcapMagicAt, PcapRecordWalker } from './pcap-record-walker.ts';
import { BlockType, PCAPNG_BYTE_ORDER_MAGIC, PcapngBlockWalker } from './pcapng-block-walker.ts';

export type CaptureFormat = 'pcap' | 'pcapng';

/** An opened offline capture. */
export interface CaptureFileSource {
  /**
   * Reads every frame, calling `consumer.onFrame` for each (one reused FrameView whose `data` aliases
   * the read buffer) and awaiting `consumer.drain()` after each chunk. Resolves with the stats when the
   * input ends, or early (after the current chunk) when `signal` is aborted. Bad records are counted
   * in `stats.errors` by cause, never thrown; a read failure rejects with TG_ERR_INPUT_OPEN, and an
   * exception from the consumer is passed through. The input is released when `run` settles. Call
   * once.
   */
  run(consumer: FrameConsumer, signal?: AbortSignal): Promise<SourceStats>;
  /** Live counters: the progress bar reads inputBytesRead / inputBytesTotal while running. */
  readonly stats: SourceStats;
  readonly format: CaptureFormat;
  /** True when the input was gzip (detected by its magic bytes). */
  readonly compressed: boolean;
  /**
   * Interfaces known so far: the classic pcap one, or pcapng IDBs seen up to now (those before the
   * first packet are known after open). pcapng ids are unique across sections: an interface's id is
   * its index in this list.
   */
  readonly interfaces: readonly CaptureInterface[];
  /** Releases the input without reading it; nothing to do once `run` was called. */
  close(): Promise<void>;
}

/** Tuning knobs, mostly for tests (tiny chunks exercise every record boundary). */
export interface OpenCaptureOptions {
  /** Bytes per read (default 4 MiB). */
  chunkBytes?: number;
  /** Initial room for a record carried over a chunk boundary (default 512 KiB; grows on demand). */
  headroomBytes?: number;
  /** pcapng blocks above this size are skipped unread (default 16 MiB). */
  maxBlockBytes?: number;
  /** Compressed bytes per inflater write (default 1 MiB). */
  gzipChunkBytes?: number;
  /**
   * Read regular files through a memory mapping when the native addon is built (default true).
   * Note: a file truncated by another process while mapped raises SIGBUS; pass false for files
   * that may still be rewritten.
   */
  mmap?: boolean;
  /** Stream read for '-' (default `process.stdin`). */
  stdin?: Readable;
}

/**
 * Opens `path` ('-' for stdin) and reads the capture header. Rejects with TapgateError
 * TG_ERR_INPUT_OPEN or TG_ERR_INPUT_FORMAT, the message naming the input.
 */
export async function openCaptureFile(
  path: string,
  options: OpenCaptureOptions = {},
): Promise<CaptureFileSource> {
  const name = path === '-' ? 'stdin' : path;
  let src: ByteSource = await openRaw(path, options.stdin, options.mmap ?? true);
  try {
    const lead = await peek(src, 2, name);
    if (lead.length === 0) throw formatError(`capture file ${name} is empty`);
    const compressed = lead.length === 2 && lead[0] === 0x1f && lead[1] === 0x8b;
    if (compressed) {
      const { GzipByteSource } = await import('./gzip-byte-source.ts');
      src = new GzipByteSource(
        src,
        options.gzipChunkBytes === undefined ? {} : { rawChunkBytes: options.gzipChunkBytes },
      );
    }
    const head = await peek(src, PCAP_HEADER_BYTES, name);
    const format = sniffFormat(head, name, compressed, src.endCause !== null);

    const stats = newSourceStats(src.rawBytesTotal);
    const walker: RecordWalker =
      format === 'pcap'
        ? new PcapRecordWalker(stats)
        : new PcapngBlockWalker(stats, options.maxBlockBytes);
    const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const reader: WindowReader =
      src instanceof MappedFileSource
        ? new MappedChunkReader(src, chunkBytes)
        : new ChunkReader(src, chunkBytes, options.headroomBytes ?? DEFAULT_HEADROOM_BYTES);
    try {
      await reader.next();
    } catch (e) {
      throw new TapgateError('TG_ERR_INPUT_OPEN', `error reading ${name}: ${errText(e)}`, {
        cause: e,
      });
    }
    // Header, SHB and the IDBs before the first packet: interfaces are known before run().
    reader.consume(walker.walk(reader.buf, reader.start, reader.end, null));
    stats.inputBytesRead = src.rawBytesRead;
    return new FileCaptureSource({ name, format, compressed, stats, src, reader, walker });
  } catch (e) {
    await src.close().catch(() => undefined);
    throw e;
  }
}

async function openRaw(
  path: string,
  stdin: Readable | undefined,
  mmap: boolean,
): Promise<ByteSource> {
  if (path !== '-')
    return (mmap ? MappedFileSource.tryOpen(path) : null) ?? FileByteSource.open(path);
  const stream = stdin ?? process.stdin;
  if ((stream as { isTTY?: boolean }).isTTY === true) {
    throw new TapgateError(
      'TG_ERR_INPUT_OPEN',
      'stdin is a terminal: pipe a capture into it or pass a file',
    );
  }
  const { StreamByteSource } = await import('./file-stream-source.ts');
  return new StreamByteSource(stream);
}

async function peek(src: ByteSource, n: number, name: string): Promise<Buffer> {
  try {
    return await src.peek(n);
  } catch (e) {
    throw new TapgateError('TG_ERR_INPUT_OPEN', `error reading ${name}: ${errText(e)}`, {
      cause: e,
    });
  }
}

/** Decides pcap vs pcapng from the first bytes, or throws TG_ERR_INPUT_FORMAT saying why not. */
function sniffFormat(
  head: Buffer,
  name: string,
  compressed: boolean,
  gzipDamaged: boolean,
): CaptureFormat {
  if (head.length === 0) {
    // Only a gzip input gets here empty (a plain one was caught by the first peek).
    throw formatError(
      gzipDamaged
        ? `capture file ${name}: gzip data is corrupt before any capture data`
        : `capture file ${name} is empty after gzip decompression`,
    );
  }
  const cut = gzipDamaged ? ' (gzip data is corrupt)' : '';
  if (head.length >= 4 && pcapMagicAt(head, 0) !== null) {
    if (head.length < PCAP_HEADER_BYTES) {
      throw formatError(`capture file ${name}: pcap file header is cut short${cut}`);
    }
    return 'pcap';
  }
  if (head.length >= 4 && head.readUInt32LE(0) === BlockType.Shb) {
    if (head.length < 12)
      throw formatError(`capture file ${name}: pcapng header is cut short${cut}`);
    const bom = head.readUInt32LE(8);
    if (bom !== PCAPNG_BYTE_ORDER_MAGIC && bom !== 0x4d3c2b1a) {
      throw formatError(`capture file ${name}: pcapng section header has a bad byte-order magic`);
    }
    return 'pcapng';
  }
  const hex = head
    .subarray(0, 4)
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
  const where = compressed ? ' after gzip decompression' : '';
  throw formatError(
    `capture file ${name} is not a pcap or pcapng capture (starts with ${hex}${where})${cut}`,
  );
}

function formatError(message: string): TapgateError {
  return new TapgateError('TG_ERR_INPUT_FORMAT', message);
}
