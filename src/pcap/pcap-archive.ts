/**
 * The finished side of the output directory: publishing temporaries under their final names,
 * salvaging broken temporaries, and retention.
 *
 *   outDir/.<name>.part ──publish──► outDir/YYYY/MM/DD/<name>   (link + unlink: never overwrites;
 *        │                                 │                      a taken name moves to -1, -2 …)
 *        └──salvage (crash, write error)───┘
 *                                          └──retention──► unlink, then rmdir emptied DD, MM, YYYY
 *
 * State: `#entries`, the finished files known under outDir (found at open() or published since),
 * sorted oldest first by (time in the name, mtime, path), and their byte total. Temporaries are
 * never entries, so retention cannot touch a file being written.
 *
 * Invariant: every operation that creates or removes names under outDir/YYYY runs on one promise
 * chain (`#enqueue`), so retention never removes a date directory between the mkdir and the link
 * of a publish. Failures are counted and reported, never thrown to the capture path: a failed
 * publish leaves the temporary in place (salvaged at the next start); a failed retention delete
 * forgets the file (no endless retries) and counts `retentionErrors`.
 *
 * Salvage never deletes captured data: the only temporaries removed are empty ones (0 bytes) and
 * those already linked under their final name; one with bytes but no readable pcap header is
 * kept as `<final name>.unrecoverable` (not counted by retention, never deleted).
 */
import { link, mkdir, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';

import { TapgateError } from '../errors.ts';
import type { PcapWriteOp } from './pcap-file-writer.ts';
import {
  SALVAGE_SUFFIX,
  TEMP_PREFIX,
  UNRECOVERABLE_SUFFIX,
  finalBaseName,
  parseFinalBaseName,
  parseTempBaseName,
  utcDateDir,
  type PcapFileName,
} from './pcap-naming.ts';
import { isNoSpace } from './pcap-disk-space.ts';
import type { SalvageResult } from './pcap-recovery.ts';
import type { FinishedPcapFile, PcapCloseReason, PcapOutputStats } from './pcap-types.ts';

interface ArchiveEntry {
  path: string;
  sizeBytes: number;
  stampSec: number;
  mtimeMs: number;
  /** Time of the file's last packet as far as known: what age retention compares. */
  endSec: number;
}

export interface PublishResult {
  /** The final path, or null when publishing failed. */
  path: string | null;
  tempKept: boolean;
}

export interface PcapArchiveOptions {
  outDir: string;
  retainSizeBytes: number;
  retainAgeSec: number;
  gzipLevel: number;
  clock: 'packet' | 'wall';
  stats: PcapOutputStats;
  /** "Now" for age retention: newest packet time ('packet') or wall time; null when unknown. */
  retentionNowSec: () => number | null;
  wallNowMs: () => number;
  reportWriteError: (err: NodeJS.ErrnoException, op: PcapWriteOp, path: string) => void;
}

const MAX_NAME_ATTEMPTS = 10_000;
const NO_HARDLINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);
const RE_YEAR = /^\d{4}$/;
const RE_2DIGITS = /^\d{2}$/;

function errno(e: unknown): NodeJS.ErrnoException {
  return e instanceof Error ? e : new Error(String(e));
}

/**
 * Eight random hex digits for the probe's name, next to the pid. Not node:crypto: loading it costs
 * every run ~2 ms of start-up, and the name needs uniqueness, not unpredictability.
 */
function randomHex32(): string {
  return Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0');
}

function compareEntries(a: ArchiveEntry, b: ArchiveEntry): number {
  return (
    a.stampSec - b.stampSec ||
    a.mtimeMs - b.mtimeMs ||
    (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
}

/**
 * Checks that outDir exists or can be created and that files can be created in it.
 * Throws TapgateError TG_ERR_OUTPUT_DIR with the path and the system error otherwise.
 */
export async function checkOutputDir(outDir: string): Promise<void> {
  const fail = (what: string, e: unknown): TapgateError => {
    const err = errno(e);
    return new TapgateError(
      'TG_ERR_OUTPUT_DIR',
      `pcap output directory ${outDir} ${what}: ${err.code ?? ''} ${err.message}`.trim(),
      { cause: err },
    );
  };
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    throw fail('cannot be created', e);
  }
  try {
    const st = await stat(outDir);
    if (!st.isDirectory()) {
      throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    }
  } catch (e) {
    throw fail('is not usable', e);
  }
  const probe = join(outDir, `${TEMP_PREFIX}tapgate-probe-${process.pid}-${randomHex32()}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (e) {
    throw fail('is not writable', e);
  }
  await rm(probe, { force: true });
}

export class PcapArchive {
  readonly #o: PcapArchiveOptions;
  readonly #outDir: string;
  #entries: ArchiveEntry[] = [];
  #totalBytes = 0;
  #chain: Promise<unknown> = Promise.resolve();
  /** Temporaries whose salvage failed for lack of space: salvaged again once there is room. */
  readonly #pendingSalvage = new Map<string, PcapCloseReason>();

  constructor(o: PcapArchiveOptions) {
    this.#o = o;
    this.#outDir = resolve(o.outDir);
  }

  /** Resolves when every queued publish, salvage and retention pass has run. */
  async idle(): Promise<void> {
    for (let c = this.#chain; ; c = this.#chain) {
      await c;
      if (c === this.#chain) return;
    }
  }

  /** Registers the finished files already under outDir/YYYY/MM/DD (files of earlier runs). */
  async scanExisting(): Promise<void> {
    const stats = this.#o.stats;
    for (const y of await this.#subdirs(this.#outDir, RE_YEAR)) {
      for (const m of await this.#subdirs(y, RE_2DIGITS)) {
        for (const d of await this.#subdirs(m, RE_2DIGITS)) {
          for (const f of await readdir(d, { withFileTypes: true })) {
            const name = f.isFile() ? parseFinalBaseName(f.name) : null;
            if (name === null) continue;
            const path = join(d, f.name);
            const st = await stat(path).catch(() => null);
            if (st === null) continue;
            const endSec =
              this.#o.clock === 'packet'
                ? name.stampSec
                : Math.max(name.stampSec, st.mtimeMs / 1000);
            this.#add({
              path,
              sizeBytes: st.size,
              stampSec: name.stampSec,
              mtimeMs: st.mtimeMs,
              endSec,
            });
            stats.existingFiles++;
            stats.existingBytes += st.size;
          }
        }
      }
    }
  }

  /**
   * Salvages and publishes every temporary left in outDir (a crash), oldest first; stale salvage
   * outputs (`.part.rec`, derived copies) are discarded first. Reports each file published.
   */
  async recoverTemporaries(onFile: (f: FinishedPcapFile) => void): Promise<void> {
    const names = await readdir(this.#outDir);
    for (const n of names) {
      if (n.startsWith(TEMP_PREFIX) && n.endsWith(SALVAGE_SUFFIX)) {
        await rm(join(this.#outDir, n), { force: true });
      }
    }
    const temps = names
      .map((n) => ({ n, name: parseTempBaseName(n) }))
      .filter((t): t is { n: string; name: PcapFileName } => t.name !== null)
      .sort((a, b) => a.name.stampSec - b.name.stampSec || (a.n < b.n ? -1 : 1));
    const stats = this.#o.stats;
    for (const t of temps) {
      const f = await this.salvage(join(this.#outDir, t.n), 'recovered');
      if (f === null) continue;
      stats.recoveredFiles++;
      stats.recoveredPackets += f.packets;
      onFile(f);
    }
  }

  /**
   * Renames a complete temporary to its final name. On failure (reported) the path is null and
   * `tempKept` says whether the temporary is still there for the next start to salvage.
   */
  publish(tempPath: string, sizeBytes: number, endSec: number): Promise<PublishResult> {
    return this.#enqueue(async () => {
      const name = parseTempBaseName(basename(tempPath));
      if (name === null) throw new Error(`not a pcap temporary: ${tempPath}`);
      let path: string;
      try {
        path = await this.#publishNow(tempPath, name, '');
      } catch (e) {
        this.#o.reportWriteError(errno(e), 'rename', tempPath);
        const tempKept = (await stat(tempPath).catch(() => null)) !== null;
        return { path: null, tempKept };
      }
      this.#add({ path, sizeBytes, stampSec: name.stampSec, mtimeMs: this.#o.wallNowMs(), endSec });
      await this.#retainNow();
      return { path, tempKept: false };
    });
  }

  /**
   * Cuts a broken or leftover temporary back to its complete records and publishes it. Returns
   * the file, or null when there was nothing to publish or the salvage failed (the temporary is
   * then left for the next start; one without a pcap header goes to `<final>.unrecoverable`).
   */
  salvage(tempPath: string, reason: PcapCloseReason): Promise<FinishedPcapFile | null> {
    return this.#enqueue(async () => {
      this.#setPending(tempPath, null); // set again below if it fails for lack of space
      const name = parseTempBaseName(basename(tempPath));
      if (name === null) return null;
      const st = await stat(tempPath).catch(() => null);
      if (st === null) return null;
      if (st.nlink > 1 || st.size === 0) {
        // Linked to its final name before a crash prevented the unlink (already published), or
        // created and never written (crash right after open, or disk full): no data to keep.
        await unlink(tempPath).catch(() => undefined);
        return null;
      }
      const recPath = `${tempPath}.rec`; // = .<final>.part.rec (SALVAGE_SUFFIX)
      let r: SalvageResult;
      let path: string;
      try {
        // Loaded on first use: most runs never salvage anything (keeps start-up short).
        const recovery = await import('./pcap-recovery.ts');
        r = name.compressed
          ? await recovery.salvageGzipTemporary(tempPath, recPath, this.#o.gzipLevel)
          : await recovery.salvagePlainTemporary(tempPath);
        if (r.header === null) {
          await this.#publishNow(tempPath, name, UNRECOVERABLE_SUFFIX);
          this.#o.stats.unrecoverableFiles++;
          return null;
        }
        path = await this.#publishNow(r.path, name, '');
        if (r.path !== tempPath) await unlink(tempPath);
      } catch (e) {
        const err = errno(e);
        this.#o.reportWriteError(err, 'write', tempPath);
        await rm(recPath, { force: true }).catch(() => undefined);
        if (isNoSpace(err)) this.#setPending(tempPath, reason);
        return null;
      }
      const endSec = this.#o.clock === 'packet' ? r.lastSec : this.#o.wallNowMs() / 1000;
      this.#add({
        path,
        sizeBytes: r.sizeBytes,
        stampSec: name.stampSec,
        mtimeMs: st.mtimeMs,
        endSec,
      });
      await this.#retainNow();
      return {
        path,
        sizeBytes: r.sizeBytes,
        packets: r.packets,
        firstTs: { sec: r.firstSec, nsec: r.firstNsec },
        lastTs: { sec: r.lastSec, nsec: r.lastNsec },
        linkType: r.header.linkType,
        snapLen: r.header.snapLen,
        tsPrecision: r.header.tsPrecision,
        compressed: name.compressed,
        reason,
      };
    });
  }

  /**
   * Salvages again the temporaries that could not be salvaged for lack of space (after the disk
   * has room again); reports each file published. Their packets were counted lost when the first
   * salvage failed: the survivors are taken back off that count.
   */
  async retryPendingSalvage(onFile: (f: FinishedPcapFile) => void): Promise<void> {
    const stats = this.#o.stats;
    for (const [path, reason] of [...this.#pendingSalvage]) {
      const f = await this.salvage(path, reason);
      if (f === null) continue;
      stats.packetsLost -= f.packets;
      stats.filesClosed++;
      onFile(f);
    }
  }

  /**
   * The disk is full: when retention is configured, deletes the oldest finished files early, up to
   * `bytes`, always keeping the newest. Without retention nothing is deleted (the user's files).
   * Returns the bytes deleted.
   */
  freeOldest(bytes: number): Promise<number> {
    return this.#enqueue(async () => {
      if (this.#o.retainSizeBytes === 0 && this.#o.retainAgeSec === 0) return 0;
      let freed = 0;
      while (freed < bytes && this.#entries.length > 1) {
        const oldest = this.#entries[0]!;
        await this.#delete(oldest);
        freed += oldest.sizeBytes;
        this.#o.stats.diskFullDeletedFiles++;
      }
      return freed;
    });
  }

  #setPending(path: string, reason: PcapCloseReason | null): void {
    if (reason === null) this.#pendingSalvage.delete(path);
    else this.#pendingSalvage.set(path, reason);
    this.#o.stats.salvagePending = this.#pendingSalvage.size;
  }

  /** Queues a retention pass when one could delete something (cheap check, for tick()). */
  enforce(): void {
    if (!this.#retentionDue()) return;
    void this.#enqueue(() => this.#retainNow());
  }

  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.#chain.then(fn);
    this.#chain = p.catch(() => undefined);
    return p;
  }

  async #subdirs(dir: string, re: RegExp): Promise<string[]> {
    const ents = await readdir(dir, { withFileTypes: true }).catch(() => []);
    return ents
      .filter((e) => e.isDirectory() && re.test(e.name))
      .map((e) => join(dir, e.name))
      .sort();
  }

  /**
   * Gives `src` the final name of `name` (+ `suffix`) without ever replacing a file: link() fails
   * on an existing name, so the next seq is tried; file systems without hard links fall back to
   * a checked rename().
   */
  async #publishNow(src: string, name: PcapFileName, suffix: string): Promise<string> {
    const dir = join(this.#outDir, utcDateDir(name.stampSec));
    await mkdir(dir, { recursive: true });
    for (let seq = name.seq; seq < name.seq + MAX_NAME_ATTEMPTS; seq++) {
      const dst = join(dir, finalBaseName({ ...name, seq }) + suffix);
      try {
        await link(src, dst);
      } catch (e) {
        const code = errno(e).code ?? '';
        if (code === 'EEXIST') continue;
        if (!NO_HARDLINKS.has(code)) throw e;
        if ((await stat(dst).catch(() => null)) !== null) continue;
        await rename(src, dst);
        return dst;
      }
      await unlink(src);
      return dst;
    }
    throw Object.assign(new Error(`no free name for ${finalBaseName(name)}`), { code: 'EEXIST' });
  }

  #add(e: ArchiveEntry): void {
    const es = this.#entries;
    let lo = 0;
    let hi = es.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const m = es[mid];
      if (m !== undefined && compareEntries(m, e) <= 0) lo = mid + 1;
      else hi = mid;
    }
    es.splice(lo, 0, e);
    this.#totalBytes += e.sizeBytes;
    this.#syncGauges();
  }

  #syncGauges(): void {
    this.#o.stats.archiveFiles = this.#entries.length;
    this.#o.stats.archiveBytes = this.#totalBytes;
  }

  #retentionDue(): boolean {
    const { retainSizeBytes, retainAgeSec } = this.#o;
    const oldest = this.#entries[0];
    if (oldest === undefined) return false;
    if (retainSizeBytes > 0 && this.#totalBytes > retainSizeBytes && this.#entries.length > 1) {
      return true;
    }
    if (retainAgeSec > 0) {
      const now = this.#o.retentionNowSec();
      return now !== null && oldest.stampSec < now - retainAgeSec;
    }
    return false;
  }

  /**
   * Deletes (1) files whose last packet is older than retainAgeSec, then (2) the oldest files while
   * the total exceeds retainSizeBytes, always keeping the newest file (a file larger than the
   * whole budget is kept until a newer one exists).
   */
  async #retainNow(): Promise<void> {
    const { retainSizeBytes, retainAgeSec } = this.#o;
    if (retainAgeSec > 0) {
      const now = this.#o.retentionNowSec();
      if (now !== null) {
        const cutoff = now - retainAgeSec;
        const victims: ArchiveEntry[] = [];
        for (const e of this.#entries) {
          if (e.stampSec >= cutoff) break; // sorted by stamp, and endSec >= stampSec
          if (e.endSec < cutoff) victims.push(e);
        }
        for (const v of victims) await this.#delete(v);
      }
    }
    if (retainSizeBytes > 0) {
      while (this.#totalBytes > retainSizeBytes && this.#entries.length > 1) {
        const oldest = this.#entries[0];
        if (oldest === undefined) break;
        await this.#delete(oldest);
      }
    }
  }

  async #delete(e: ArchiveEntry): Promise<void> {
    const i = this.#entries.indexOf(e);
    if (i >= 0) this.#entries.splice(i, 1);
    this.#totalBytes -= e.sizeBytes;
    this.#syncGauges();
    const stats = this.#o.stats;
    try {
      await unlink(e.path);
      stats.retentionDeletedFiles++;
      stats.retentionDeletedBytes += e.sizeBytes;
    } catch (err) {
      if (errno(err).code !== 'ENOENT') stats.retentionErrors++;
    }
    // Remove the emptied day, month and year directories (rmdir fails on a non-empty one).
    let dir = dirname(e.path);
    for (let level = 0; level < 3 && dir.startsWith(this.#outDir + sep); level++) {
      try {
        await rmdir(dir);
      } catch {
        break;
      }
      dir = dirname(dir);
    }
  }
}
