/**
 * Records as JSON lines in a file (or on stdout): the `--records FILE` sink.
 *
 * Lines are gathered into ~64 KiB writes. `write()` never blocks capture; `drain()` lets the
 * pipeline wait while the stream's buffer is over its high-water mark, the same backpressure the
 * pcap writer applies, so a slow disk slows reading a file instead of growing the heap.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { TapgateError } from '../errors.ts';
import type { RecordSink } from '../sniff/sniff-stage.ts';
import { serializeRecord } from './gost-json.ts';
import type { GostRecord } from './record-types.ts';

const FLUSH_BYTES = 64 * 1024;

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
  #pending: string[] = [];
  #pendingBytes = 0;
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
    const stream: WriteStream = createWriteStream(path, { flags: 'a' });
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
    let line: string;
    try {
      line = serializeRecord(record) + '\n';
    } catch {
      this.stats.encodeErrors++;
      return;
    }
    this.#pending.push(line);
    this.#pendingBytes += line.length;
    this.stats.records++;
    if (this.#pendingBytes >= FLUSH_BYTES) this.#flush();
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
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#pendingBytes = 0;
    this.stats.bytes += Buffer.byteLength(text);
    this.#out.write(text);
  }
}
