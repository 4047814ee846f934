/**
 * Drives a sniffer outside the capture pipeline: a recording SniffContext, hand-over factories
 * that fail or record, and feeders that hand the same stream over whole, byte by byte, or split at
 * a given offset, so a test can check that every way of cutting the bytes gives the same records.
 */
import assert from 'node:assert/strict';
import type { RecordUnit } from '../../src/record/record-types.ts';
import {
  defaultSniffConfig,
  type ConnectionEndpoints,
  type DatagramSniffer,
  type H2cUpgrade,
  type Side,
  type SnifferFactories,
  type SniffConfig,
  type SniffContext,
  type StreamSniffer,
  type Timestamp,
} from '../../src/sniff/sniffer.ts';
import type { FollowChunk } from './tshark-follow.ts';

export interface RecordingContext extends SniffContext {
  readonly units: RecordUnit[];
  readonly errors: { proto: string; code: string }[];
  /** Sets the time `now()` returns. */
  setNow(ts: Timestamp): void;
}

export function recordingContext(
  config: Partial<SniffConfig> = {},
  endpoints: Partial<ConnectionEndpoints> = {},
): RecordingContext {
  let now: Timestamp = { sec: 1_700_000_000, nsec: 0 };
  const units: RecordUnit[] = [];
  const errors: { proto: string; code: string }[] = [];
  return {
    config: { ...defaultSniffConfig, ...config },
    endpoints: {
      network: 'tcp',
      clientIp: '192.0.2.1',
      clientPort: 50000,
      serverIp: '192.0.2.2',
      serverPort: 80,
      ...endpoints,
    },
    units,
    errors,
    now: () => now,
    setNow: (ts) => (now = ts),
    emit: (u) => units.push(u),
    parseError: (proto, code) => errors.push({ proto, code }),
  };
}

/** What a run left in its context, comparable across feed modes. */
export interface Outcome {
  units: RecordUnit[];
  errors: RecordingContext['errors'];
}

export function outcome(ctx: RecordingContext): Outcome {
  return { units: ctx.units, errors: ctx.errors };
}

/** Factories that fail the test if a connection is ever handed over (plain HTTP/1 tests). */
export const NO_HAND_OVER: SnifferFactories = {
  http2: () => assert.fail('unexpected HTTP/2 hand-over'),
  tunnel: () => assert.fail('unexpected tunnel hand-over'),
};

/** A sniffer that keeps what it is handed (copies: the bytes are borrowed). */
export class RecordingSniffer implements StreamSniffer {
  readonly bytes: [Buffer[], Buffer[]] = [[], []];
  readonly gaps = [0, 0];
  readonly ended = [false, false];
  readonly wanted = [true, true];

  data(side: Side, data: Buffer): void {
    assert.ok(this.wanted[side], 'data after wants() went false');
    this.bytes[side].push(Buffer.from(data)); // borrowed: copy
  }
  gap(side: Side, bytes: number): void {
    this.gaps[side]! += bytes;
  }
  end(side: Side): void {
    assert.equal(this.ended[side], false, 'end() twice');
    this.ended[side] = true;
  }
  wants(side: Side): boolean {
    return this.wanted[side]!;
  }
  received(side: Side): Buffer {
    return Buffer.concat(this.bytes[side]);
  }
}

/** One hand-over a sniffer asked its factories for. */
export interface HandOver {
  kind: 'http2' | 'tunnel';
  ctx: SniffContext;
  upgrade: H2cUpgrade | null;
  sniffer: RecordingSniffer;
}

/** Factories that hand out RecordingSniffers and list each call in `calls`. */
export function recordingFactories(): { factories: SnifferFactories; calls: HandOver[] } {
  const calls: HandOver[] = [];
  const make = (
    kind: HandOver['kind'],
    ctx: SniffContext,
    upgrade: H2cUpgrade | null,
  ): StreamSniffer => {
    const sniffer = new RecordingSniffer();
    calls.push({ kind, ctx, upgrade, sniffer });
    return sniffer;
  };
  return {
    calls,
    factories: {
      http2: (ctx, upgrade) => make('http2', ctx, upgrade),
      tunnel: (ctx) => make('tunnel', ctx, null),
    },
  };
}

/** How to cut each chunk before delivery. */
export type FeedMode = { kind: 'whole' } | { kind: 'bytewise' } | { kind: 'split'; at: number };

/** Copies each piece before delivery (so a sniffer that keeps a borrowed view is caught). */
export function feedStream(sniffer: StreamSniffer, chunks: FollowChunk[], mode: FeedMode): void {
  for (const { side, data } of chunks) {
    if (!sniffer.wants(side)) continue;
    if (mode.kind === 'whole') deliver(sniffer, side, data);
    else if (mode.kind === 'bytewise') {
      for (let i = 0; i < data.length && sniffer.wants(side); i++) {
        deliver(sniffer, side, data.subarray(i, i + 1));
      }
    } else {
      const at = Math.min(mode.at, data.length);
      if (at > 0) deliver(sniffer, side, data.subarray(0, at));
      if (at < data.length && sniffer.wants(side)) deliver(sniffer, side, data.subarray(at));
    }
  }
  sniffer.end(0);
  sniffer.end(1);
}

/** The split offsets worth testing for these chunks: every offset up to `limit`. */
export function splitOffsets(chunks: FollowChunk[], limit = 4096): number[] {
  const longest = Math.min(limit, Math.max(0, ...chunks.map((c) => c.data.length)));
  return Array.from({ length: longest }, (_, i) => i + 1);
}

/**
 * Runs `run` (a fresh sniffer fed `chunks` in the given mode) whole, byte by byte and split at
 * every offset up to `limit`: every run must give what the whole run gave, which is returned.
 */
export function assertCutIndependent<T>(
  chunks: FollowChunk[],
  run: (mode: FeedMode) => T,
  limit?: number,
): T {
  const whole = run({ kind: 'whole' });
  assert.deepStrictEqual(run({ kind: 'bytewise' }), whole, 'bytewise');
  for (const at of splitOffsets(chunks, limit)) {
    assert.deepStrictEqual(run({ kind: 'split', at }), whole, `split at ${at}`);
  }
  return whole;
}

function deliver(sniffer: StreamSniffer, side: 0 | 1, data: Buffer): void {
  // A fresh copy that is scribbled over afterwards: views kept past the call show up as garbage.
  const copy = Buffer.from(data);
  sniffer.data(side, copy);
  copy.fill(0xee);
}

export function feedDatagrams(
  sniffer: DatagramSniffer,
  datagrams: { side: 0 | 1; data: Buffer }[],
): void {
  for (const d of datagrams) {
    const copy = Buffer.from(d.data);
    sniffer.datagram(d.side, copy);
    copy.fill(0xee);
  }
  sniffer.end();
}
