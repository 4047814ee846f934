/**
 * Which pcap files cover a stretch of time: records name the files that hold their flow.
 *
 * Each stream's files follow one another in time, so a file covers [its first packet, the next
 * file's first packet). The final name is fixed when the file opens (it carries the time of its
 * first packet), so a record can name a file that is still being written. Only the newest
 * MAX_FILES_PER_STREAM files are remembered: records are about recent traffic.
 */
const MAX_FILES_PER_STREAM = 4096;

interface LoggedFile {
  path: string;
  startSec: number;
}

export class PcapFileLog {
  readonly #streams = new Map<string, LoggedFile[]>();

  /** A stream opened `path` (relative to the output root) for packets from `startSec` on. */
  opened(stream: string, path: string, startSec: number): void {
    let files = this.#streams.get(stream);
    if (!files) this.#streams.set(stream, (files = []));
    files.push({ path, startSec });
    if (files.length > MAX_FILES_PER_STREAM) files.splice(0, files.length - MAX_FILES_PER_STREAM);
  }

  /** Files whose time span overlaps [firstSec, lastSec], oldest first (binary search per stream). */
  covering(firstSec: number, lastSec: number): string[] {
    const out: string[] = [];
    for (const files of this.#streams.values()) {
      // The last file starting at or before firstSec holds it; later ones up to lastSec too.
      let lo = 0,
        hi = files.length - 1,
        from = 0;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (files[mid]!.startSec <= firstSec) {
          from = mid;
          lo = mid + 1;
        } else hi = mid - 1;
      }
      for (let i = from; i < files.length && files[i]!.startSec <= lastSec; i++) {
        out.push(files[i]!.path);
      }
    }
    return out;
  }
}
