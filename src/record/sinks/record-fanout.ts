/**
 * Records to every configured recorder: each record is encoded once (GOST JSON, no separator) and
 * the same bytes are offered to one bounded queue per recorder (sink-queue.ts).
 *
 * Live capture never waits: a full queue drops the record for that sink alone. Reading a file
 * (`offline`) never drops: `drain()` waits until every queue is back under its bounds, so a slow
 * sink slows reading instead.
 */
import type { RecordSink } from '../../sniff/sniff-stage.ts';
import { writeRecord } from '../gost-json.ts';
import { JsonWriter } from '../json-writer.ts';
import type { GostRecord } from '../record-types.ts';
import { createFileTarget } from './file-target.ts';
import { createHttpTarget } from './http-target.ts';
import type { RecorderSpec } from './recorder-spec.ts';
import { SinkQueue, type SinkQueueOptions } from './sink-queue.ts';
import type { DeliveryTarget, NamedSinkStats } from './sink-target.ts';
import { createRedisTarget } from './redis-target.ts';
import { createTcpTarget } from './tcp-target.ts';

export interface RecordFanoutOptions {
  /** Reading a file: wait for room instead of dropping. */
  offline: boolean;
  /** pcap files (relative to the output root) covering a time span: fills `flow.pcap`. */
  pcapFiles?: (firstSec: number, lastSec: number) => string[];
  onError?: (sink: string, e: unknown) => void;
  /** Queue settings for tests (retry delays); bounds come from each spec. */
  queue?: Pick<SinkQueueOptions, 'retryBaseMs' | 'retryMaxMs' | 'batchRecords'>;
}

/** How long `close()` keeps delivering what is queued before counting it dropped. */
export const FLUSH_TIMEOUT_MS = 10_000;

export class RecordFanout implements RecordSink {
  readonly #queues: SinkQueue[];
  readonly #offline: boolean;
  readonly #pcapFiles: RecordFanoutOptions['pcapFiles'];
  readonly #writer = new JsonWriter(16 * 1024);
  /** Records that could not be encoded. */
  encodeErrors = 0;

  constructor(queues: SinkQueue[], opts: RecordFanoutOptions) {
    this.#queues = queues;
    this.#offline = opts.offline;
    this.#pcapFiles = opts.pcapFiles;
  }

  /** Opens every recorder's target (a file that cannot be opened fails here, loudly). */
  static async open(
    specs: readonly RecorderSpec[],
    opts: RecordFanoutOptions,
  ): Promise<RecordFanout> {
    const queues: SinkQueue[] = [];
    try {
      for (const spec of specs) {
        const target = await createTarget(spec);
        queues.push(
          new SinkQueue(target, {
            ...opts.queue,
            maxRecords: spec.queue.records,
            maxBytes: spec.queue.bytes,
            dropWhenFull: !opts.offline,
            ...(opts.onError ? { onError: (e: unknown) => opts.onError?.(spec.name, e) } : {}),
          }),
        );
      }
    } catch (e) {
      await Promise.all(queues.map((q) => q.close(0)));
      throw e;
    }
    return new RecordFanout(queues, opts);
  }

  write(record: GostRecord): void {
    const flow = record.flow;
    if (flow && this.#pcapFiles) flow.pcap = this.#pcapFiles(flow.firstSeen.sec, flow.lastSeen.sec);
    const w = this.#writer;
    w.pos = 0;
    try {
      writeRecord(w, record, undefined);
    } catch {
      this.encodeErrors++;
      return;
    }
    const bytes = w.copyFrom(0);
    for (const q of this.#queues) q.offer(bytes);
  }

  drain(): Promise<void> | void {
    if (!this.#offline) return;
    return Promise.all(this.#queues.map((q) => q.waitForRoom())).then(() => undefined);
  }

  stats(): NamedSinkStats[] {
    return this.#queues.map((q) => q.named());
  }

  /** Delivers what it can within `flushTimeoutMs` per sink (in parallel), then closes them. */
  async close(flushTimeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
    await Promise.all(this.#queues.map((q) => q.close(flushTimeoutMs)));
  }
}

async function createTarget(spec: RecorderSpec): Promise<DeliveryTarget> {
  const b = spec.backend;
  switch (b.kind) {
    case 'file':
      return createFileTarget(spec.name, b);
    case 'http':
      return createHttpTarget(spec.name, b);
    case 'tcp':
      return createTcpTarget(spec.name, b);
    case 'redis':
      return createRedisTarget(spec.name, b);
  }
}

/** Sends records to two sinks (`--records` and the recorders); drains both. */
export function teeSinks(a: RecordSink, b: RecordSink): RecordSink {
  return {
    write(record) {
      a.write(record);
      b.write(record);
    },
    async drain() {
      await Promise.all([a.drain?.(), b.drain?.()]);
    },
  };
}
