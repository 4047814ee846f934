/**
 * Salvage of temporaries: a `.part` file left by a crash (found at open()) or by a write error
 * (abandoned while running) is cut back to its last complete pcap record, so that it can be
 * renamed to its final name. Nothing here deletes captured data:
 *
 * - plain: the records are scanned in place and the file is truncated after the last complete
 *   one (ftruncate needs no free space, which matters after ENOSPC);
 * - gzip: the temporary is decompressed as far as it goes (Z_SYNC_FLUSH as finish flush, so a
 *   missing trailer is not an error and a corrupt block just ends the data), the complete records
 *   are recompressed into `<temporary>.rec`, which the caller publishes before deleting the
 *   original. A crash during that leaves the original intact; the stale `.rec` is discarded and
 *   the salvage simply runs again.
 *
 * A temporary without a complete, valid pcap file header (crash right after creating it) is
 * reported with `header: null`; the caller keeps it under a distinct name.
 */
import { createReadStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { constants as zc, createGunzip } from 'node:zlib';

import { BatchPool, WriteBudget } from './pcap-buffers.ts';
import { PcapFileWriter } from './pcap-file-writer.ts';
import { PcapRecordScanner, type PcapFileHeader } from './pcap-record.ts';

export interface SalvageResult {
  /** The file to publish: the temporary itself (plain) or the rewritten `.rec` (gzip). */
  path: string;
  header: PcapFileHeader | null;
  packets: number;
  firstSec: number;
  firstNsec: number;
  lastSec: number;
  lastNsec: number;
  /** Size of `path` after salvage. */
  sizeBytes: number;
}

const READ_CHUNK_BYTES = 1024 * 1024;
const SALVAGE_BATCH_BYTES = 1024 * 1024;

function result(path: string, s: PcapRecordScanner, sizeBytes: number): SalvageResult {
  return {
    path,
    header: s.header,
    packets: s.packets,
    firstSec: s.firstSec,
    firstNsec: s.firstNsec,
    lastSec: s.lastSec,
    lastNsec: s.lastNsec,
    sizeBytes,
  };
}

/** Truncates a plain temporary after its last complete record (in place) and syncs it. */
export async function salvagePlainTemporary(path: string): Promise<SalvageResult> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    const scanner = new PcapRecordScanner();
    const buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (let pos = 0; pos < size && !scanner.stopped;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      // The scanner keeps views only of what it returns, so the read buffer can be reused.
      scanner.push(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
    if (scanner.header === null) return result(path, scanner, size);
    if (scanner.validBytes < size) await fh.truncate(scanner.validBytes);
    await fh.sync();
    return result(path, scanner, scanner.validBytes);
  } finally {
    await fh.close();
  }
}

/**
 * Recompresses the complete records of a gzip temporary into `outPath` (replaced), synced, with
 * the same writer as live output. Corrupt or truncated compressed input just ends the data;
 * an output error (ENOSPC) rejects, and the caller removes `outPath` and keeps the temporary.
 * When no pcap header can be decompressed, `header` is null and nothing is written.
 */
export async function salvageGzipTemporary(
  path: string,
  outPath: string,
  gzipLevel: number,
): Promise<SalvageResult> {
  const scanner = new PcapRecordScanner();
  const input = createReadStream(path);
  const gunzip = createGunzip({ finishFlush: zc.Z_SYNC_FLUSH });
  input.on('error', (e) => gunzip.destroy(e));
  input.pipe(gunzip);
  await rm(outPath, { force: true });
  const pool = new BatchPool(SALVAGE_BATCH_BYTES, 8);
  const budget = new WriteBudget(8 * SALVAGE_BATCH_BYTES, { bufferedBytes: 0, drainWaits: 0 });
  const out: { failure: NodeJS.ErrnoException | null } = { failure: null };
  let writer: PcapFileWriter | null = null;
  let batch = pool.take(SALVAGE_BATCH_BYTES);
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      let valid = scanner.push(chunk);
      if (valid.length > 0) {
        writer ??= new PcapFileWriter({
          outDir: dirname(outPath),
          tempPathFor: () => outPath,
          compress: true,
          gzipLevelForChunk: () => gzipLevel,
          gzipThreads: 2,
          pool,
          budget,
          onDiskBytes: () => undefined,
          onDeflated: () => undefined,
          onFailure: (err) => {
            out.failure = err;
          },
        });
      }
      while (valid.length > 0 && writer !== null) {
        const n = Math.min(valid.length, batch.buf.length - batch.used);
        valid.copy(batch.buf, batch.used, 0, n);
        batch.used += n;
        valid = valid.subarray(n);
        if (batch.used === batch.buf.length) {
          writer.submit(batch);
          batch = pool.take(SALVAGE_BATCH_BYTES);
          await budget.wait();
        }
      }
      if (scanner.stopped || out.failure !== null) break;
    }
  } catch {
    // Corrupt or unreadable compressed data: keep what was decompressed before it.
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  if (writer === null) return result(outPath, scanner, 0);
  writer.submit(batch);
  const res = await writer.finish();
  if (!res.complete) throw out.failure ?? new Error(`salvage of ${path} failed`);
  return result(outPath, scanner, res.sizeBytes);
}
