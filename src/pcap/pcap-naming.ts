/**
 * File names of the pcap output, finished and temporary, and how to read them back.
 *
 *   finished   <outDir>/YYYY/MM/DD/<stream>-<YYYY-MM-DDTHH-MM-SS>[-<seq>].pcap[.gz]     (UTC)
 *   temporary  <outDir>/.<finished basename>.part
 *   salvage    <outDir>/.<finished basename>.part.rec   (gzip rewrite in progress, see recovery)
 *
 * A temporary's name carries everything needed to finish it (stream, time, seq, compression), so a
 * crash leaves nothing that cannot be renamed to its final place. `seq` is 0 (omitted) for the first
 * file of a stream in a given second; size rotation within one second, or an existing file with the
 * same name, moves on to -1, -2, …. Names sort by time within a stream.
 */
import { posix } from 'node:path';

export interface PcapFileName {
  /** Sanitised stream name: the source name, plus a link-type suffix for additional streams. */
  stream: string;
  /** UTC seconds printed in the name (first packet for clock 'packet', open time for 'wall'). */
  stampSec: number;
  seq: number;
  compressed: boolean;
}

export const TEMP_PREFIX = '.';
export const TEMP_SUFFIX = '.part';
export const SALVAGE_SUFFIX = '.part.rec';
/** Appended to the final name of a temporary that held no readable pcap header. */
export const UNRECOVERABLE_SUFFIX = '.unrecoverable';

const FINAL_RE = /^(.+)-(\d{4})-(\d{2})-(\d{2})T(\d{2})-(\d{2})-(\d{2})(?:-(\d+))?\.pcap(\.gz)?$/;
const CAPTURE_EXT_RE = /(\.(pcapng|pcap|cap|dmp|erf|gz|zst|lz4|xz|bz2))+$/i;
const MAX_STREAM_CHARS = 80;

/**
 * Turns a source name (file basename, interface name) into a safe file-name stem: capture
 * extensions dropped (`trace.pcap.gz` → `trace`), anything outside `[A-Za-z0-9._-]` replaced by
 * `_`, no leading dot (that would look like a temporary), at most 80 characters, never empty.
 */
export function sanitizeSourceName(name: string): string {
  let s = posix.basename(name.replaceAll('\\', '/')).replace(CAPTURE_EXT_RE, '');
  s = s.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^[.]+/, '');
  if (s.length > MAX_STREAM_CHARS) s = s.slice(0, MAX_STREAM_CHARS);
  return s.length === 0 ? 'capture' : s;
}

/** LINKTYPE_* names (https://www.tcpdump.org/linktypes.html), lower case, for stream suffixes. */
const LINK_TYPE_NAMES = new Map<number, string>([
  [0, 'null'],
  [1, 'ethernet'],
  [9, 'ppp'],
  [101, 'raw'],
  [105, 'ieee802_11'],
  [108, 'loop'],
  [113, 'linux_sll'],
  [127, 'ieee802_11_radiotap'],
  [228, 'ipv4'],
  [229, 'ipv6'],
  [239, 'nflog'],
  [276, 'linux_sll2'],
]);

export function linkTypeName(linkType: number): string {
  if (linkType >= 147 && linkType <= 162) return `user${linkType - 147}`;
  return LINK_TYPE_NAMES.get(linkType) ?? `linktype${linkType}`;
}

/** `YYYY-MM-DDTHH-MM-SS` in UTC (ISO 8601 with `-` for `:`, which some file systems refuse). */
export function utcStamp(sec: number): string {
  return new Date(sec * 1000).toISOString().slice(0, 19).replaceAll(':', '-');
}

/** `YYYY/MM/DD` (UTC) relative to outDir, with `/` separators. */
export function utcDateDir(sec: number): string {
  const iso = new Date(sec * 1000).toISOString();
  return `${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}`;
}

export function finalBaseName(n: PcapFileName): string {
  const seq = n.seq > 0 ? `-${n.seq}` : '';
  return `${n.stream}-${utcStamp(n.stampSec)}${seq}.pcap${n.compressed ? '.gz' : ''}`;
}

/** Path of the finished file relative to outDir: `YYYY/MM/DD/<basename>`. */
export function finalRelPath(n: PcapFileName): string {
  return `${utcDateDir(n.stampSec)}/${finalBaseName(n)}`;
}

export function tempBaseName(n: PcapFileName): string {
  return `${TEMP_PREFIX}${finalBaseName(n)}${TEMP_SUFFIX}`;
}

export function parseFinalBaseName(base: string): PcapFileName | null {
  const m = FINAL_RE.exec(base);
  if (m === null) return null;
  const [, stream, y, mo, d, h, mi, s, seq, gz] = m;
  if (stream === undefined) return null;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (!Number.isFinite(ms)) return null;
  return {
    stream,
    stampSec: Math.floor(ms / 1000),
    seq: seq === undefined ? 0 : Number(seq),
    compressed: gz !== undefined,
  };
}

/** Reads a temporary's basename (`.<final>.part`); null for anything else, salvage files included. */
export function parseTempBaseName(base: string): PcapFileName | null {
  if (!base.startsWith(TEMP_PREFIX) || !base.endsWith(TEMP_SUFFIX)) return null;
  return parseFinalBaseName(base.slice(TEMP_PREFIX.length, -TEMP_SUFFIX.length));
}
