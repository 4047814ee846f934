/**
 * Records as JSON lines in a file (or on stdout): the `--records FILE` sink.
 *
 * Lines are gathered into ~64 KiB writes. `write()` never blocks capture; `drain()` lets the
 * pipeline wait while the stream's buffer is over its high-water mark, the same backpressure the
 * pcap writer applies, so a slow disk slows reading a file instead of growing the heap.
 *
 * Records are encoded as UTF-8 straight into the pending chunk (gost-json.ts `writeRecord`), which
 * goes to the stream as a Buffer: no per-line strings to join, measure and encode again.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { TapgateError } from '../errors.ts';
import type { RecordSink } from '../sniff/sniff-stage.ts';
import { writeRecord } from './gost-json.ts';
import { JsonWriter } from './json-writer.ts';
import type { GostRecord } from './record-types.ts';

/** A chunk is written once a record takes it to this size or beyond. */
const FLUSH_BYTES = 64 * 1024;
/** Room of a chunk: the flush size plus a typical record or more, so that it rarely has to grow. */
const CHUNK_BYTES = 96 * 1024;
const NEWLINE = 0x0a;
/**
 * Bytes the file stream may hold before `drain()` makes the pipeline wait: several chunks, so that
 * one chunk is written (on the libuv pool) while the next is being encoded. With the stream's
 * default of 16 KiB every chunk would wait for the previous write to finish.
 */
const STREAM_BUFFER_BYTES = 1024 * 1024;

export interface JsonlSinkStats {
  records: number;
  bytes: number;
  writeErrors: number;
  /** Records that could not be encoded (a value GOST's encoder could not produce). */
  encodeErrors: number;
}

export interface JsonlSinkOptions {
  /** pcap files (relative to the output root) covering a time span: fills `flow.pcap`. */
  pcapFiles?: (firstSec: number, lastSec: number) => string[];
}

export class JsonlSink implements RecordSink {
  readonly #out: Writable;
  readonly #ownsStream: boolean;
  readonly #pcapFiles: JsonlSinkOptions['pcapFiles'];
  /** The pending chunk: the lines not yet handed to the stream. */
  readonly #chunk = new JsonWriter(CHUNK_BYTES);
  #error: Error | null = null;
  readonly stats: JsonlSinkStats = { records: 0, bytes: 0, writeErrors: 0, encodeErrors: 0 };

  private constructor(out: Writable, ownsStream: boolean, opts: JsonlSinkOptions) {
    this.#out = out;
    this.#ownsStream = ownsStream;
    this.#pcapFiles = opts.pcapFiles;
    out.on('error', (e: Error) => {
      this.stats.writeErrors++;
      this.#error ??= e;
    });
  }

  /** Opens `path` for appending (`-` = stdout); fails with TG_ERR_OUTPUT_WRITE if it cannot. */
  static async open(path: string, opts: JsonlSinkOptions = {}): Promise<JsonlSink> {
    if (path === '-') return new JsonlSink(process.stdout, false, opts);
    await cutTornTail(path);
    const stream: WriteStream = createWriteStream(path, {
      flags: 'a',
      highWaterMark: STREAM_BUFFER_BYTES,
    });
    try {
      await once(stream, 'open');
    } catch (e) {
      throw new TapgateError(
        'TG_ERR_OUTPUT_WRITE',
        `cannot open records file ${path}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    return new JsonlSink(stream, true, opts);
  }

  write(record: GostRecord): void {
    const flow = record.flow;
    if (flow && this.#pcapFiles) flow.pcap = this.#pcapFiles(flow.firstSeen.sec, flow.lastSeen.sec);
    const chunk = this.#chunk;
    const start = chunk.pos;
    try {
      writeRecord(chunk, record, undefined);
    } catch {
      chunk.pos = start; // drop the part written
      this.stats.encodeErrors++;
      return;
    }
    chunk.char(NEWLINE);
    this.stats.records++;
    if (chunk.pos >= FLUSH_BYTES) this.#flush();
  }

  /** Resolves when the stream can take more; the pipeline awaits it between input chunks. */
  async drain(): Promise<void> {
    if (this.#out.writableNeedDrain && this.#error === null) await once(this.#out, 'drain');
  }

  /** Writes what is pending and closes the file (stdout stays open). Rejects on a write error. */
  async close(): Promise<void> {
    this.#flush();
    if (this.#ownsStream) {
      this.#out.end();
      await once(this.#out, 'finish').catch(() => undefined);
    } else if (this.#out.writableNeedDrain) {
      await once(this.#out, 'drain');
    }
    if (this.#error) {
      throw new TapgateError('TG_ERR_OUTPUT_WRITE', `writing records: ${this.#error.message}`, {
        cause: this.#error,
      });
    }
  }

  #flush(): void {
    const chunk = this.#chunk;
    if (chunk.pos === 0) return;
    this.stats.bytes += chunk.pos;
    this.#out.write(chunk.take());
  }
}

/** Bytes read back from the end of an existing file to find its last complete line. */
const TAIL_SCAN_BYTES = 64 * 1024;

/**
 * A process killed in the middle of a write (SIGKILL, power loss) can leave a last line without
 * its newline: half a record. Appending after it would glue the next record to it, so the
 * half line is cut off first (it could never be parsed). Every complete line stays as it is.
 */
async function cutTornTail(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r+');
  } catch {
    return; // a new file (or one we cannot read: createWriteStream reports that)
  }
  try {
    const { size } = await fh.stat();
    if (size === 0) return;
    let end = size;
    const buf = Buffer.allocUnsafe(Math.min(TAIL_SCAN_BYTES, size));
    for (;;) {
      const start = Math.max(0, end - buf.length);
      const { bytesRead } = await fh.read(buf, 0, end - start, start);
      const nl = buf.subarray(0, bytesRead).lastIndexOf(NEWLINE);
      if (end === size && nl === bytesRead - 1) return; // ends with a newline: intact
      if (nl >= 0 || start === 0) {
        await fh.truncate(nl >= 0 ? start + nl + 1 : 0);
        return;
      }
      end = start;
    }
  } finally {
    await fh.close();
  }
}
