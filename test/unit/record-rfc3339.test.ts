/**
 * RFC 3339 with nanoseconds as Go's time.Time marshals it. Expected strings follow Go's layout
 * rules by hand (and were checked against Go's encoding/json).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { formatRfc3339Nano } from '../../src/record/rfc3339.ts';

/** 2026-03-04T09:15:06Z. */
const T0 = 1_772_615_706;

test('fraction: trailing zeros trimmed, dot dropped when zero', () => {
  const cases: [number, string][] = [
    [0, '2026-03-04T09:15:06Z'],
    [100_000_000, '2026-03-04T09:15:06.1Z'],
    [512_093_117, '2026-03-04T09:15:06.512093117Z'],
    [731_000, '2026-03-04T09:15:06.000731Z'],
    [1, '2026-03-04T09:15:06.000000001Z'],
    [999_999_990, '2026-03-04T09:15:06.99999999Z'],
  ];
  for (const [nsec, want] of cases) assert.equal(formatRfc3339Nano({ sec: T0, nsec }, 0), want);
});

test('explicit offsets: ±HH:MM east of UTC, Z for zero', () => {
  const ts = { sec: T0, nsec: 512_093_117 };
  assert.equal(formatRfc3339Nano(ts, 60), '2026-03-04T10:15:06.512093117+01:00');
  assert.equal(formatRfc3339Nano(ts, -330), '2026-03-04T03:45:06.512093117-05:30');
  assert.equal(formatRfc3339Nano(ts, 345), '2026-03-04T15:00:06.512093117+05:45');
  assert.equal(formatRfc3339Nano(ts, -0), '2026-03-04T09:15:06.512093117Z');
  // The date follows the offset across midnight, both ways.
  assert.equal(formatRfc3339Nano(ts, 14 * 60), '2026-03-04T23:15:06.512093117+14:00');
  assert.equal(
    formatRfc3339Nano({ sec: T0 + 3 * 3600, nsec: 0 }, 14 * 60),
    '2026-03-05T02:15:06+14:00',
  );
  assert.equal(formatRfc3339Nano({ sec: T0, nsec: 0 }, -12 * 60), '2026-03-03T21:15:06-12:00');
});

test('edges: epoch, leap day, 4-digit years, end of 32-bit seconds', () => {
  assert.equal(formatRfc3339Nano({ sec: 0, nsec: 0 }, 0), '1970-01-01T00:00:00Z');
  assert.equal(formatRfc3339Nano({ sec: -1, nsec: 0 }, 0), '1969-12-31T23:59:59Z');
  assert.equal(formatRfc3339Nano({ sec: 1_709_251_199, nsec: 0 }, 0), '2024-02-29T23:59:59Z');
  assert.equal(formatRfc3339Nano({ sec: 4_294_967_295, nsec: 0 }, 0), '2106-02-07T06:28:15Z');
  // 0999-12-31T23:59:59Z: Go pads the year to 4 digits.
  assert.equal(formatRfc3339Nano({ sec: -30_610_224_001, nsec: 0 }, 0), '0999-12-31T23:59:59Z');
});

test('a nanosecond carry is normalized', () => {
  assert.equal(formatRfc3339Nano({ sec: T0, nsec: 1_500_000_000 }, 0), '2026-03-04T09:15:07.5Z');
  assert.equal(formatRfc3339Nano({ sec: T0, nsec: -1 }, 0), '2026-03-04T09:15:05.999999999Z');
});

test('sub-minute offsets: exact wall clock, zone minutes truncated, as Go does', () => {
  // Shanghai's local mean time, +08:05:43: Go writes the clock with the seconds, the zone as +08:05.
  assert.equal(formatRfc3339Nano({ sec: 0, nsec: 0 }, 485 + 43 / 60), '1970-01-01T08:05:43+08:05');
  assert.equal(
    formatRfc3339Nano({ sec: 0, nsec: 0 }, -(485 + 43 / 60)),
    '1969-12-31T15:54:17-08:05',
  );
});

/** Formats `secs` (each with nsec 999999999) in a child process whose local zone is `tz`. */
function formatInZone(tz: string, secs: number[]): string[] {
  const moduleUrl = pathToFileURL(join(import.meta.dirname, '../../src/record/rfc3339.ts')).href;
  const code =
    `import { formatRfc3339Nano } from ${JSON.stringify(moduleUrl)};\n` +
    `const secs = ${JSON.stringify(secs)};\n` +
    `console.log(JSON.stringify(secs.map((sec) => formatRfc3339Nano({ sec, nsec: 999999999 }))));`;
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', code],
    { env: { ...process.env, TZ: tz }, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

// New York's 2024 switches: 2024-03-10 07:00Z (EST → EDT) and 2024-11-03 06:00Z (EDT → EST);
// Lord Howe's 2023 switch to +11:00 at 15:30Z, half past a UTC hour.
const US_SPRING = 1_710_054_000;
const US_FALL = 1_730_613_600;
const LORD_HOWE_SPRING = 1_696_087_800;
const ZONE_INSTANTS = [
  US_SPRING - 1,
  US_SPRING,
  US_FALL - 1,
  US_FALL,
  0,
  LORD_HOWE_SPRING - 1,
  LORD_HOWE_SPRING,
];

test('local zone by default, following DST (TZ set in a child process)', () => {
  const expected: Record<string, string[]> = {
    UTC: [
      '2024-03-10T06:59:59.999999999Z',
      '2024-03-10T07:00:00.999999999Z',
      '2024-11-03T05:59:59.999999999Z',
      '2024-11-03T06:00:00.999999999Z',
      '1970-01-01T00:00:00.999999999Z',
      '2023-09-30T15:29:59.999999999Z',
      '2023-09-30T15:30:00.999999999Z',
    ],
    'Asia/Shanghai': [
      '2024-03-10T14:59:59.999999999+08:00',
      '2024-03-10T15:00:00.999999999+08:00',
      '2024-11-03T13:59:59.999999999+08:00',
      '2024-11-03T14:00:00.999999999+08:00',
      '1970-01-01T08:00:00.999999999+08:00',
      '2023-09-30T23:29:59.999999999+08:00',
      '2023-09-30T23:30:00.999999999+08:00',
    ],
    'America/New_York': [
      '2024-03-10T01:59:59.999999999-05:00',
      '2024-03-10T03:00:00.999999999-04:00',
      '2024-11-03T01:59:59.999999999-04:00',
      '2024-11-03T01:00:00.999999999-05:00',
      '1969-12-31T19:00:00.999999999-05:00',
      '2023-09-30T11:29:59.999999999-04:00',
      '2023-09-30T11:30:00.999999999-04:00',
    ],
    'Australia/Lord_Howe': [
      '2024-03-10T17:59:59.999999999+11:00',
      '2024-03-10T18:00:00.999999999+11:00',
      '2024-11-03T16:59:59.999999999+11:00',
      '2024-11-03T17:00:00.999999999+11:00',
      '1970-01-01T10:00:00.999999999+10:00',
      '2023-10-01T01:59:59.999999999+10:30',
      '2023-10-01T02:30:00.999999999+11:00',
    ],
  };
  for (const [tz, want] of Object.entries(expected)) {
    assert.deepEqual(formatInZone(tz, ZONE_INSTANTS), want, tz);
  }
});
