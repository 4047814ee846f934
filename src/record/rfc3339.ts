/**
 * Go's `time.RFC3339Nano` layout (`2006-01-02T15:04:05.999999999Z07:00`), as `encoding/json` writes
 * a `time.Time`: wall clock in the time's zone, a fraction of up to 9 digits with trailing zeros
 * trimmed (no dot when the fraction is zero), `Z` for a zero offset, else `±HH:MM`.
 *
 * GOST stamps records in the local zone (Go's `time.Local`, from `TZ` or /etc/localtime), so that
 * is the default here; an explicit offset makes output independent of the machine (tests, goldens).
 */
import type { Timestamp } from '../sniff/sniffer.ts';

const NS_PER_SEC = 1_000_000_000;
const MS_PER_SEC = 1000;
const SEC_PER_MIN = 60;
const MIN_PER_HOUR = 60;
const SEC_PER_HOUR = 3600;
const SEC_PER_DAY = 86_400;
const MS_PER_DAY = SEC_PER_DAY * MS_PER_SEC;
const FRACTION_DIGITS = 9;
const CHAR_ZERO = 0x30;
/**
 * Zone offsets are looked up once per 15 minutes of UTC time. Every modern transition falls on a
 * multiple of 15 minutes UTC (offsets are multiples of 15 minutes and switch at a whole local hour;
 * Lord Howe's +10:30 → +11:00 rules out caching per hour). Historical local-mean-time changes at
 * odd seconds (before ~1950) are the exception, and a network capture never dates from then.
 */
const OFFSET_BUCKET_SEC = 15 * SEC_PER_MIN;

/** '00' … '99'. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) =>
  String(i).padStart(2, '0'),
);

// One-entry caches: records arrive roughly in time order, so the last bucket and day usually hit.
let offsetBucket = Number.NaN;
let offsetBucketSec = 0;
let cachedDay = Number.NaN;
let cachedDayText = '';

/**
 * Offset of the local zone east of UTC, in seconds, at `sec` (seconds since the epoch). A change of
 * `TZ` inside a running process is seen from the next 15-minute bucket on.
 */
function localOffsetSeconds(sec: number): number {
  const bucket = Math.floor(sec / OFFSET_BUCKET_SEC);
  if (bucket !== offsetBucket) {
    // getTimezoneOffset() is minutes *west* of UTC; V8 rounds sub-minute LMT offsets to minutes.
    offsetBucketSec = -new Date(sec * MS_PER_SEC).getTimezoneOffset() * SEC_PER_MIN;
    offsetBucket = bucket;
  }
  return offsetBucketSec;
}

/** `YYYY-MM-DDT` of day number `days` since the epoch. */
function dayText(days: number): string {
  if (days !== cachedDay) {
    const d = new Date(days * MS_PER_DAY);
    cachedDayText =
      String(d.getUTCFullYear()).padStart(4, '0') +
      '-' +
      TWO_DIGITS[d.getUTCMonth() + 1]! +
      '-' +
      TWO_DIGITS[d.getUTCDate()]! +
      'T';
    cachedDay = days;
  }
  return cachedDayText;
}

/** `.fffffffff` with trailing zeros trimmed, '' for zero (Go's `.999999999` layout element). */
function fractionText(nsec: number): string {
  if (nsec === 0) return '';
  const digits = String(NS_PER_SEC + nsec).slice(1); // zero-padded to 9 digits
  let end = FRACTION_DIGITS;
  while (digits.charCodeAt(end - 1) === CHAR_ZERO) end--;
  return '.' + digits.slice(0, end);
}

/** `Z`, or `±HH:MM` with the minutes truncated toward zero as Go does (offset / 60). */
function zoneText(offsetSec: number): string {
  if (offsetSec === 0) return 'Z';
  const sign = offsetSec < 0 ? '-' : '+';
  const minutes = Math.trunc(Math.abs(offsetSec) / SEC_PER_MIN);
  return (
    sign +
    TWO_DIGITS[Math.trunc(minutes / MIN_PER_HOUR)]! +
    ':' +
    TWO_DIGITS[minutes % MIN_PER_HOUR]!
  );
}

/**
 * The zone offset east of UTC, in seconds, that `formatRfc3339Nano(ts, offsetMinutes)` uses for a
 * time in second `sec`: `offsetMinutes` when given, else the local zone's.
 */
export function zoneOffsetSeconds(sec: number, offsetMinutes?: number): number {
  return offsetMinutes === undefined
    ? localOffsetSeconds(sec)
    : Math.round(offsetMinutes * SEC_PER_MIN);
}

/**
 * Formats `ts` as Go's `time.RFC3339Nano`. `offsetMinutes` is the zone offset east of UTC (`60` →
 * `+01:00`, `-300` → `-05:00`); without it the local zone's offset at that instant is used, so
 * daylight saving time is followed. Years are written with at least 4 digits.
 */
export function formatRfc3339Nano(ts: Timestamp, offsetMinutes?: number): string {
  let sec = ts.sec;
  let nsec = ts.nsec;
  if (nsec < 0 || nsec >= NS_PER_SEC) {
    // Normalize a carry left by arithmetic on timestamps.
    const carry = Math.floor(nsec / NS_PER_SEC);
    sec += carry;
    nsec -= carry * NS_PER_SEC;
  }
  return formatRfc3339NanoAt(sec, nsec, zoneOffsetSeconds(sec, offsetMinutes));
}

/**
 * `formatRfc3339Nano` of second `sec` and `nsec` (0 ≤ nsec < 10^9) nanoseconds in a zone
 * `offsetSec` seconds east of UTC (see zoneOffsetSeconds).
 */
export function formatRfc3339NanoAt(sec: number, nsec: number, offsetSec: number): string {
  const local = sec + offsetSec;
  const days = Math.floor(local / SEC_PER_DAY);
  const secOfDay = local - days * SEC_PER_DAY;
  const hour = Math.trunc(secOfDay / SEC_PER_HOUR);
  const minute = Math.trunc((secOfDay % SEC_PER_HOUR) / SEC_PER_MIN);
  return (
    dayText(days) +
    TWO_DIGITS[hour]! +
    ':' +
    TWO_DIGITS[minute]! +
    ':' +
    TWO_DIGITS[secOfDay % SEC_PER_MIN]! +
    fractionText(nsec) +
    zoneText(offsetSec)
  );
}
