/**
 * Free space of the output file system, for the pcap output's disk-full handling: after ENOSPC
 * (or EDQUOT) no new file is opened until the file system has `headroomBytes` free again, so a
 * full disk costs counted drops instead of a new temporary every retry.
 */
import { statfs } from 'node:fs/promises';

/** Free space wanted before writing again: 16 MiB, but at most a tenth of a small file system. */
const HEADROOM_BYTES = 16 * 1024 * 1024;
const HEADROOM_FRACTION = 0.1;

export interface DiskSpace {
  /** Bytes an unprivileged writer may still use. */
  freeBytes: number;
  /** Free bytes wanted before writing again on this file system. */
  headroomBytes: number;
}

export async function diskSpace(dir: string): Promise<DiskSpace> {
  const s = await statfs(dir);
  const total = s.blocks * s.bsize;
  return {
    freeBytes: s.bavail * s.bsize,
    headroomBytes: Math.min(HEADROOM_BYTES, Math.floor(total * HEADROOM_FRACTION)),
  };
}

/** Errors that mean "the file system is full", not "this file is broken". */
export function isNoSpace(err: NodeJS.ErrnoException): boolean {
  return err.code === 'ENOSPC' || err.code === 'EDQUOT';
}
