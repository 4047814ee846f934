/**
 * Where capture bytes come from, before any format is known: a file, stdin, or a gzip stream over
 * either. Every source copies into a buffer the caller owns, so the record walkers can keep working
 * on one reused buffer whatever the input is.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { TapgateError } from '../errors.ts';
import type { SourceErrorCause } from './file-source-errors.ts';

/** A sequential byte input. One `read` or `peek` may be outstanding at a time. */
export interface ByteSource {
  /**
   * Copies up to `length` bytes into `buf` at `offset`; resolves with the count, 0 at the end of the
   * input. Rejects only when the input became unreadable (I/O error).
   */
  read(buf: Buffer, offset: number, length: number): Promise<number>;
  /** The next `n` bytes without consuming them (fewer at the end of the input). */
  peek(n: number): Promise<Buffer>;
  /** Raw input bytes consumed so far (compressed bytes for gzip): drives the progress bar. */
  readonly rawBytesRead: number;
  /** Total raw input bytes when known (regular files), else 0. */
  readonly rawBytesTotal: number;
  /** Set when the input ended early because it is damaged (a cut gzip stream), else null. */
  readonly endCause: SourceErrorCause | null;
  /** Releases the input; pending reads settle first. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * A file (or FIFO, or device) read with `FileHandle.read` straight into the caller's buffer: no
 * copy beyond the kernel's. Bytes looked at by `peek` are kept and handed out first by `read`, which
 * works for pipes too (no seeking).
 */
export class FileByteSource implements ByteSource {
  readonly #fh: FileHandle;
  /** Bytes peeked but not yet read; `#pushbackOff` is the first one not handed out. */
  #pushback: Buffer | null = null;
  #pushbackOff = 0;
  #closed = false;
  rawBytesRead = 0;
  readonly rawBytesTotal: number;
  readonly endCause = null;

  private constructor(fh: FileHandle, size: number) {
    this.#fh = fh;
    this.rawBytesTotal = size;
  }

  /** Opens `path` for reading; throws TG_ERR_INPUT_OPEN naming the file when it cannot be read. */
  static async open(path: string): Promise<FileByteSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new TapgateError(
        'TG_ERR_INPUT_OPEN',
        `cannot open capture file ${path}: ${errText(e)}`,
        {
          cause: e,
        },
      );
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) {
        throw new TapgateError('TG_ERR_INPUT_OPEN', `capture input ${path} is a directory`);
      }
      return new FileByteSource(fh, st.isFile() ? st.size : 0);
    } catch (e) {
      await fh.close();
      if (e instanceof TapgateError) throw e;
      throw new TapgateError(
        'TG_ERR_INPUT_OPEN',
        `cannot stat capture file ${path}: ${errText(e)}`,
        {
          cause: e,
        },
      );
    }
  }

  async read(buf: Buffer, offset: number, length: number): Promise<number> {
    let n = 0;
    const pb = this.#pushback;
    if (pb !== null) {
      n = pb.copy(buf, offset, this.#pushbackOff, Math.min(pb.length, this.#pushbackOff + length));
      this.#pushbackOff += n;
      if (this.#pushbackOff < pb.length) return n;
      // Pushback used up: fill the rest from the file, so the first chunk is a full one.
      this.#pushback = null;
      if (n === length) return n;
    }
    const { bytesRead } = await this.#fh.read(buf, offset + n, length - n, null);
    this.rawBytesRead += bytesRead;
    return n + bytesRead;
  }

  async peek(n: number): Promise<Buffer> {
    const have = this.#pushback === null ? 0 : this.#pushback.length - this.#pushbackOff;
    if (have >= n) {
      const pb = this.#pushback as Buffer;
      return pb.subarray(this.#pushbackOff, this.#pushbackOff + n);
    }
    // Grow the pushback to n bytes: pipes may deliver less than asked per read.
    const grown = Buffer.alloc(n);
    let len = have === 0 ? 0 : (this.#pushback as Buffer).copy(grown, 0, this.#pushbackOff);
    while (len < n) {
      const { bytesRead } = await this.#fh.read(grown, len, n - len, null);
      if (bytesRead === 0) break;
      this.rawBytesRead += bytesRead;
      len += bytesRead;
    }
    this.#pushback = len === 0 ? null : grown.subarray(0, len);
    this.#pushbackOff = 0;
    return grown.subarray(0, len);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fh.close();
  }
}

/** `err.message` for an unknown thrown value. */
export function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
