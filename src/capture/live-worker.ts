/**
 * A capture worker thread: its rings (af-packet) or the main thread's input batches (pcap engine)
 * → its own FlowStage (decode, flows, cutoff) → admitted frames back to the main thread, which
 * writes the pcap files. Flows never cross workers: the kernel's fanout hash (or the main
 * thread's, for libpcap) sends both directions of a flow to the same worker.
 *
 * The ring loop is synchronous inside a block (poll blocks this thread only, never the main one)
 * and yields to the event loop between blocks when it must wait for a frame buffer, and every
 * YIELD_MS otherwise, so returned buffers and stop requests are seen promptly.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { FlowAffinityCheck } from '../flow/flow-affinity-check.ts';
import { AfPacketRing } from './af-packet-ring.ts';
import { newFrameView } from './frame.ts';
import { walkFrameBatch } from './frame-batch.ts';
import { FrameChannelSink } from './live-frame-channel.ts';
import {
  CONTROL_STOP,
  type LiveWorkerInit,
  type MainMessage,
  type WorkerCounters,
  type WorkerMessage,
} from './live-protocol.ts';
import type { GostRecord } from '../record/record-types.ts';
import { createFlowStage, createSniffStage } from './pipeline-parts.ts';

/** Longest wait in poll before the loop looks at the stop flag again. */
const POLL_MS = 50;
const YIELD_MS = 20;
/** Partly filled frame batches go to the main thread at least this often. */
const FLUSH_MS = 100;
const STATS_MS = 1000;

if (!parentPort) throw new Error('live-worker.ts runs as a worker thread only');
const port: MessagePort = parentPort;
const init = workerData as LiveWorkerInit;
const send = (m: WorkerMessage, transfer: ArrayBuffer[] = []): void => {
  port.postMessage(m, transfer);
};

const affinity = new FlowAffinityCheck(init.affinity, init.worker);
const channel = init.sendFrames
  ? new FrameChannelSink(init.batchBytes, init.batchBuffers, (batch) => {
      send({ type: 'frames', batch }, [batch]);
    })
  : null;
/** Records wait here until the next flush (or until a batch is full). */
let records: GostRecord[] = [];
const RECORD_BATCH = 256;
function flushRecords(): void {
  if (records.length === 0) return;
  send({ type: 'records', records });
  records = [];
}
const sniff = init.sniff
  ? createSniffStage(init.sniff.config, init.sniff.service, {
      write: (r) => {
        records.push(r);
        if (records.length >= RECORD_BATCH) flushRecords();
      },
    })
  : null;
const stage = createFlowStage(init.flowConfig, channel, {
  onFlowCreated: (h) => {
    affinity.flowCreated(h);
  },
  ...(sniff ? { observer: sniff } : {}),
});
const control = new Int32Array(init.control);
const ringCounters = { blocks: 0, packets: 0, vlanTagsRestored: 0 };
let rings: AfPacketRing[] = [];

function counters(): WorkerCounters {
  return {
    flow: stage.stats,
    ring: ringCounters,
    affinityViolations: affinity.violations,
    framesUnsent: channel?.framesUnsent ?? 0,
    sniff: sniff?.stats ?? null,
  };
}

/** Idle expiry follows the wall clock between packets: live packet time is wall time. */
function everySecond(): void {
  stage.expire(Date.now() / 1000);
  send({ type: 'stats', counters: counters() });
}

function sumRingStats(): void {
  ringCounters.blocks = ringCounters.packets = ringCounters.vlanTagsRestored = 0;
  for (const r of rings) {
    const s = r.stats;
    ringCounters.blocks += s.blocks;
    ringCounters.packets += s.packets;
    ringCounters.vlanTagsRestored += s.vlanTagsRestored;
  }
}

function finish(): void {
  stage.finish();
  channel?.flush();
  flushRecords();
  sumRingStats();
  send({ type: 'done', counters: counters() });
  for (const r of rings) r.close();
}

async function runRings(): Promise<void> {
  rings = init.fds.map(
    (fd, i) =>
      new AfPacketRing({
        fd,
        blockSize: init.ring.blockSize,
        blockCount: init.ring.blockCount,
        snapLen: init.snapLen,
        iface: init.ifaces[i]!,
        skipOutgoing: init.skipOutgoing[i] ?? false,
      }),
  );
  send({ type: 'ready' });
  const blockBytes = init.ring.blockSize;
  // After the stop flag, keep reading until a full round finds nothing once the kernel has had
  // time to retire the last partly filled blocks.
  const drainMs = 2 * init.ring.blockTimeoutMs + POLL_MS;
  let stopAt = 0;
  let idleRound = false;
  let lastYield = Date.now();
  let lastFlush = lastYield;
  let lastStats = lastYield;
  for (;;) {
    const waitMs = idleRound ? Math.ceil(POLL_MS / rings.length) : 0;
    let walked = 0;
    for (const ring of rings) {
      if (channel) await channel.reserve(blockBytes);
      if (ring.pollBlock(waitMs, stage) >= 0) walked++;
    }
    idleRound = walked === 0;
    const now = Date.now();
    if (stopAt === 0 && Atomics.load(control, CONTROL_STOP) !== 0) stopAt = now;
    if (stopAt !== 0 && idleRound && now - stopAt >= drainMs) break;
    // Not on every empty poll: between packets of a busy link the ring is often empty for a
    // moment, and a message per moment cost more than the packets (measured: 250 ms of 550).
    if (now - lastFlush >= FLUSH_MS) {
      channel?.flush();
      flushRecords();
      lastFlush = now;
    }
    if (now - lastStats >= STATS_MS) {
      sumRingStats();
      everySecond();
      lastStats = now;
    }
    if (now - lastYield >= YIELD_MS) {
      await yieldToLoop();
      lastYield = Date.now();
    }
  }
  finish();
}

/** pcap engine: input batches arrive as messages, in order, one at a time. */
function runBatches(): void {
  const frame = newFrameView();
  let queue = Promise.resolve();
  const statsTimer = setInterval(everySecond, STATS_MS);
  const flushTimer = setInterval(() => {
    channel?.flush();
    flushRecords();
  }, FLUSH_MS);
  port.on('message', (m: MainMessage) => {
    if (m.type !== 'input' && m.type !== 'stop') return;
    queue = queue.then(async () => {
      if (m.type === 'stop') {
        clearInterval(statsTimer);
        clearInterval(flushTimer);
        finish();
        return;
      }
      if (channel) await channel.reserve(m.batch.byteLength);
      walkFrameBatch(m.batch, init.ifaces, frame, stage);
      send({ type: 'input-done', batch: m.batch }, [m.batch]);
    });
  });
  send({ type: 'ready' });
}

port.on('message', (m: MainMessage) => {
  if (m.type === 'frames-return') channel?.giveBack(m.batch);
});

try {
  if (init.engine === 'af-packet') await runRings();
  else runBatches();
} catch (e) {
  const err = e as Error & { code?: unknown };
  send({
    type: 'error',
    code: typeof err.code === 'string' ? err.code : null,
    message: err.message,
  });
}
