/**
 * The invariants every target checks on what the code under test emitted: each record serializes
 * with `serializeRecord` and the line parses back as JSON (an object, on one line).
 */
import { buildRecord } from '../../src/record/record-builder.ts';
import { serializeRecord } from '../../src/record/gost-json.ts';
import type { GostRecord, RecordUnit } from '../../src/record/record-types.ts';
import {
  defaultSniffConfig,
  type ConnectionEndpoints,
  type SniffConfig,
  type SniffContext,
  type Timestamp,
} from '../../src/sniff/sniffer.ts';

/** A failed invariant (as opposed to an exception escaping the code under test). */
export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function checkRecord(rec: GostRecord): void {
  const line = serializeRecord(rec, { offsetMinutes: 0 });
  if (line.includes('\n')) throw new InvariantError('record line contains a newline');
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e) {
    throw new InvariantError(
      `record is not valid JSON: ${(e as Error).message}: ${line.slice(0, 200)}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvariantError('record is not a JSON object');
  }
}

const T0: Timestamp = { sec: 1_700_000_000, nsec: 0 };

export function checkUnit(unit: RecordUnit, endpoints: ConnectionEndpoints): void {
  checkRecord(
    buildRecord('fuzz', unit, {
      endpoints,
      sid: 'd0000000000000000000',
      flow: {
        communityId: '1:AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        clientPackets: 1,
        clientBytes: 1,
        serverPackets: 1,
        serverBytes: 1,
        firstSeen: T0,
        lastSeen: T0,
        midstream: false,
        gaps: 0,
        gapBytes: 0,
        cutoff: false,
        pcap: [],
      },
    }),
  );
}

export interface FuzzContext extends SniffContext {
  units: number;
  /** Advances the clock (sniffers measure durations). */
  tick(): void;
}

/** A SniffContext that checks every unit as it is emitted, and keeps only counts. */
export function fuzzContext(
  endpoints: Partial<ConnectionEndpoints> = {},
  config: Partial<SniffConfig> = {},
): FuzzContext {
  let now: Timestamp = T0;
  const ep: ConnectionEndpoints = {
    network: 'tcp',
    clientIp: '192.0.2.1',
    clientPort: 50000,
    serverIp: '2001:db8::2',
    serverPort: 80,
    ...endpoints,
  };
  const ctx: FuzzContext = {
    config: { ...defaultSniffConfig, httpBody: true, websocketSampleRate: -1, ...config },
    endpoints: ep,
    units: 0,
    now: () => now,
    tick: () => {
      now = { sec: now.sec, nsec: (now.nsec + 1_000_000) % 1e9 };
    },
    emit: (u) => {
      ctx.units++;
      checkUnit(u, ep);
    },
    parseError: () => undefined,
  };
  return ctx;
}
