/**
 * GOST's `file` recorder: every record followed by `sep`, appended to one file that is rotated
 * the way GOST's lumberjack does it: past `maxSize` the file is renamed to
 * `NAME-YYYY-MM-DDTHH-MM-SS.mmm.EXT` (UTC unless `localTime`), optionally gzipped (`.gz`), and
 * backups beyond `maxBackups` or older than `maxAge` days are deleted.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { TapgateError } from '../../errors.ts';
import type { DeliveryTarget } from './sink-target.ts';

export interface FileRotation {
  /** Rotate before a write would take the file past this size; 0: never. */
  maxSizeBytes: number;
  /** Delete backups older than this many days; 0: keep. */
  maxAgeDays: number;
  /** Keep at most this many backups; 0: all. */
  maxBackups: number;
  /** Backup names in local time instead of UTC. */
  localTime: boolean;
  /** gzip rotated files. */
  compress: boolean;
}

export interface FileTargetOptions {
  path: string;
  /** Written after every record (GOST `sep`). */
  sep: string;
  rotation: FileRotation;
}

const MB = 1024 * 1024;
export const DEFAULT_FILE_ROTATION: FileRotation = {
  maxSizeBytes: 100 * MB,
  maxAgeDays: 0,
  maxBackups: 0,
  localTime: false,
  compress: false,
};
const DAY_MS = 86_400_000;

class FileTarget implements DeliveryTarget {
  readonly kind = 'file';
  readonly name: string;
  readonly #path: string;
  readonly #sep: Buffer;
  readonly #rot: FileRotation;
  #fh: FileHandle;
  #size: number;
  #lastBackupMs = 0;
  /** Compression and pruning of rotated files, in the background, one after another. */
  #housekeeping: Promise<void> = Promise.resolve();

  constructor(name: string, opts: FileTargetOptions, fh: FileHandle, size: number) {
    this.name = name;
    this.#path = opts.path;
    this.#sep = Buffer.from(opts.sep);
    this.#rot = opts.rotation;
    this.#fh = fh;
    this.#size = size;
  }

  async deliver(batch: readonly Buffer[]): Promise<void> {
    const max = this.#rot.maxSizeBytes;
    let parts: Buffer[] = [];
    let bytes = 0;
    for (const rec of batch) {
      const len = rec.length + this.#sep.length;
      if (max > 0 && this.#size + bytes + len > max && this.#size + bytes > 0) {
        await this.#write(parts, bytes);
        parts = [];
        bytes = 0;
        await this.#rotate();
      }
      parts.push(rec, this.#sep);
      bytes += len;
    }
    await this.#write(parts, bytes);
  }

  async close(): Promise<void> {
    await this.#fh.close();
    await this.#housekeeping;
  }

  async #write(parts: Buffer[], bytes: number): Promise<void> {
    if (bytes === 0) return;
    await this.#fh.appendFile(Buffer.concat(parts, bytes)); // loops over partial writes
    this.#size += bytes;
  }

  async #rotate(): Promise<void> {
    await this.#fh.close();
    const backup = this.#backupName();
    await rename(this.#path, backup);
    this.#fh = await open(this.#path, 'a');
    this.#size = 0;
    this.#housekeeping = this.#housekeeping.then(async () => {
      if (this.#rot.compress) await gzipFile(backup).catch(() => undefined);
      await this.#prune().catch(() => undefined);
    });
  }

  #backupName(): string {
    const ms = Math.max(Date.now(), this.#lastBackupMs + 1); // unique even within a millisecond
    this.#lastBackupMs = ms;
    const d = new Date(ms);
    const local = this.#rot.localTime;
    const p = (n: number, w = 2): string => String(n).padStart(w, '0');
    const stamp =
      `${p(local ? d.getFullYear() : d.getUTCFullYear(), 4)}-` +
      `${p((local ? d.getMonth() : d.getUTCMonth()) + 1)}-${p(local ? d.getDate() : d.getUTCDate())}T` +
      `${p(local ? d.getHours() : d.getUTCHours())}-${p(local ? d.getMinutes() : d.getUTCMinutes())}-` +
      `${p(local ? d.getSeconds() : d.getUTCSeconds())}.${p(d.getMilliseconds(), 3)}`;
    const { prefix, ext } = nameParts(this.#path);
    return join(dirname(this.#path), `${prefix}-${stamp}${ext}`);
  }

  async #prune(): Promise<void> {
    const { maxBackups, maxAgeDays } = this.#rot;
    if (maxBackups <= 0 && maxAgeDays <= 0) return;
    const dir = dirname(this.#path);
    const { prefix, ext } = nameParts(this.#path);
    const backupRe = new RegExp(
      `^${escapeRe(prefix)}-\\d{4}-\\d\\d-\\d\\dT\\d\\d-\\d\\d-\\d\\d\\.\\d{3}${escapeRe(ext)}(\\.gz)?$`,
    );
    // The timestamp sorts as text: newest first.
    const backups = (await readdir(dir))
      .filter((f) => backupRe.test(f))
      .sort()
      .reverse();
    const cutoff = Date.now() - maxAgeDays * DAY_MS;
    for (const [i, f] of backups.entries()) {
      const file = join(dir, f);
      let old = maxBackups > 0 && i >= maxBackups;
      if (!old && maxAgeDays > 0) old = (await stat(file)).mtimeMs < cutoff;
      if (old) await unlink(file).catch(() => undefined);
    }
  }
}

function nameParts(path: string): { prefix: string; ext: string } {
  const base = basename(path);
  const ext = extname(base);
  return { prefix: base.slice(0, base.length - ext.length), ext };
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

async function gzipFile(file: string): Promise<void> {
  const out = createWriteStream(`${file}.gz`);
  await once(out, 'open');
  await pipeline(createReadStream(file), createGzip(), out);
  await unlink(file);
}

/** Opens (creating directories) the file for appending; fails with TG_ERR_OUTPUT_WRITE. */
export async function createFileTarget(
  name: string,
  opts: FileTargetOptions,
): Promise<DeliveryTarget> {
  try {
    await mkdir(dirname(opts.path), { recursive: true });
    const fh = await open(opts.path, 'a');
    const { size } = await fh.stat();
    return new FileTarget(name, opts, fh, size);
  } catch (e) {
    throw new TapgateError(
      'TG_ERR_OUTPUT_WRITE',
      `recorder ${name}: cannot open ${opts.path}: ${(e as Error).message}`,
      { cause: e },
    );
  }
}
