/**
 * Sizes and durations as people write them in flags and YAML.
 * Sizes: `65536`, `64k`, `16KiB`, `1.5M`, `2G`, `1T` (binary multiples: k = 1024).
 * Durations: `90` (seconds), `500ms`, `60s`, `5m`, `1h`, `7d`.
 */
import { TapgateError } from '../errors.ts';

const sizeUnits: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const durationUnits: Record<string, number> = {
  '': 1,
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
};

/** Parses a size in bytes; `what` names the flag or key in the error. */
export function parseSize(value: string | number, what: string): number {
  return parseWithUnit(value, sizeUnits, what, 'a size such as 65536, 64k, 16KiB or 2G', true);
}

/** Parses a duration in seconds. */
export function parseDuration(value: string | number, what: string): number {
  return parseWithUnit(
    value,
    durationUnits,
    what,
    'a duration such as 90, 60s, 5m, 1h or 7d',
    false,
  );
}

function parseWithUnit(
  value: string | number,
  units: Record<string, number>,
  what: string,
  expected: string,
  integer: boolean,
): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(value));
  const factor = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) {
    throw new TapgateError('TG_ERR_CONFIG', `${what}: "${String(value)}" is not ${expected}`);
  }
  const n = Number(m[1]) * factor;
  return integer ? Math.round(n) : n;
}

/** Human-readable byte count for summaries: 1.5 GiB, 640 KiB, 12 B. */
/** `20%` or `20` (a bare number is a percentage too). Returns the fraction, 0..1. */
export function parsePercent(value: string | number, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(String(value));
  const pct = m ? Number(m[1]) : NaN;
  if (!(pct >= 0 && pct <= 100)) {
    throw new TapgateError(
      'TG_ERR_CONFIG',
      `${what}: "${String(value)}" is not a percentage 0..100`,
    );
  }
  return pct / 100;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]!}`;
}
