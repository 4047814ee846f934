/**
 * The live capture job: interfaces → capture workers (decode, flows, cutoff) → one rotated pcap
 * output on the main thread.
 *
 *   af-packet: kernel ──fanout hash──► ring of worker 0 … ring of worker N-1   (sockets opened here,
 *                                       │                │                     rings mapped there)
 *   pcap:      cap (main thread) ──affinity hash──► input batches ──► worker 0 … worker N-1
 *                                       ▼                ▼
 *                           admitted frames in batches (transferred) ──► PcapOutput ──► files
 *
 * One output for all workers keeps file names, rotation, crash recovery and retention exactly as
 * for file input; packets of a flow stay in order (a flow lives in one worker, and its batches
 * arrive in order), packets of different workers interleave by batch.
 *
 * Start-up opens every socket (and checks permissions, the interface, the filter) before any
 * worker starts, so user errors surface as one TapgateError. Stop (abort signal or duration):
 * workers drain their rings and end their flows, then the output closes its files.
 */
import type { Worker } from 'node:worker_threads';
import type { CaptureConfig, CaptureEngine } from '../config/capture-config.ts';
import { TapgateError } from '../errors.ts';
import type { FlowStageStats } from '../flow/flow-stage.ts';
import { FlowAffinityCheck } from '../flow/flow-affinity-check.ts';
import { PcapOutput, type PcapOutputStats } from '../pcap/pcap-output.ts';
import { JsonlSink, type JsonlSinkStats } from '../record/jsonl-sink.ts';
import { RecordFanout, teeSinks } from '../record/sinks/record-fanout.ts';
import type { NamedSinkStats } from '../record/sinks/sink-target.ts';
import type { SniffStats } from '../sniff/sniff-stage.ts';
import {
  closePacketSocket,
  compileInterfaceFilter,
  isLoopbackInterface,
  openAfPacketSocket,
  readInterfaceCounters,
  readPacketSocketStats,
  type InterfaceCounters,
} from './af-packet-socket.ts';
import { checkFanoutSymmetry, type FanoutCheckResult } from './fanout-check.ts';
import { newFrameView, type CaptureInterface, type FrameView } from './frame.ts';
import { frameBatchCount, walkFrameBatch } from './frame-batch.ts';
import type { LibpcapSource } from './libpcap-source.ts';
import {
  CONTROL_STOP,
  type LiveWorkerInit,
  type MainMessage,
  type WorkerCounters,
  type WorkerMessage,
} from './live-protocol.ts';
import { pcapFilesOf, pcapOutputOptions, type PcapEvents } from './pipeline-parts.ts';
import { siblingModule, startWorker } from './worker-launch.ts';

export interface KernelRingStats {
  /** Packets the kernel passed to the rings (after the filter). */
  packets: number;
  /** Packets the kernel dropped because a ring was full. */
  drops: number;
  /** Times a ring was full and the kernel froze the queue. */
  freezes: number;
}

export interface LiveCaptureProgress {
  flow: FlowStageStats;
  kernel: KernelRingStats | null;
  /** The latest counters of each worker (null until its first report). */
  perWorker: (WorkerCounters | null)[];
  output: PcapOutputStats | null;
  /** Reassembly and sniffers, summed over the workers; null without --records. */
  sniff: SniffStats | null;
  /** The recorders (`capture.recorders`), one entry each; empty without them. */
  sinks: NamedSinkStats[];
  elapsedSec: number;
}

export interface LiveCaptureSummary extends LiveCaptureProgress {
  interfaces: string[];
  engine: CaptureEngine;
  workers: number;
  perWorker: WorkerCounters[];
  /** Deltas of /sys/class/net/IF/statistics over the run, per interface. */
  interfaceCounters: Record<string, InterfaceCounters>;
  /** pcap engine: frames the main thread captured, and dropped because a worker fell behind. */
  libpcap: { packets: number; truncated: number; framesDroppedBackpressure: number } | null;
  affinityViolations: number;
  /** af-packet with several workers: the start-up check of the kernel's fanout hash. */
  fanoutCheck: FanoutCheckResult | null;
  records: JsonlSinkStats | null;
  /** 'signal': stopped through the abort signal; 'duration': the configured duration elapsed. */
  stoppedBy: 'signal' | 'duration';
  cpuSec: number;
}

export interface LiveCaptureRunOptions {
  /** Stops the capture; files are closed and the summary returned. */
  signal?: AbortSignal;
  /** Called once every worker is capturing (with the fanout check's result, when it ran). */
  onStarted?: (fanoutCheck: FanoutCheckResult | null) => void;
  onProgress?: (p: LiveCaptureProgress) => void;
  progressIntervalMs?: number;
  /** pcap files finished and write errors, as they happen. */
  pcapEvents?: PcapEvents;
}

/** Frame buffers per worker and their size: 16 × 2 MiB may be on their way to the writer. */
const BATCH_BUFFERS = 16;
/** Input batches (pcap engine) a worker may have queued before the main thread drops frames. */
const MAX_INPUT_BATCHES_IN_FLIGHT = 64;
const PCAP_INPUT_BATCH_BYTES = 256 * 1024;
const TICK_MS = 1000;
const WORKER_STOP_TIMEOUT_MS = 15_000;

interface WorkerHandle {
  worker: Worker;
  counters: WorkerCounters | null;
  done: Promise<void>;
  inputInFlight: number;
}

export async function runLiveCapture(
  config: CaptureConfig,
  opts: LiveCaptureRunOptions = {},
): Promise<LiveCaptureSummary> {
  const live = config.live;
  const names = config.interfaces;
  if (names.length === 0) throw new TapgateError('TG_ERR_USAGE', 'no interface to capture from');
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const elapsed = (): number => (performance.now() - started) / 1000;

  const outDir = config.outDir;
  const output =
    outDir === null
      ? null
      : await PcapOutput.open(
          pcapOutputOptions({ ...config, outDir }, names.join('_'), 'wall', opts.pcapEvents),
        );
  const sourceName = config.sourceName ?? names.join('_');
  const records =
    config.recordsPath === null
      ? null
      : await JsonlSink.open(config.recordsPath, pcapFilesOf(output)).catch(async (e: unknown) => {
          await output?.close();
          throw e;
        });
  const fanout =
    config.recorders.length === 0
      ? null
      : await RecordFanout.open(config.recorders, {
          offline: false,
          ...pcapFilesOf(output),
        }).catch(async (e: unknown) => {
          await records?.close().catch(() => undefined);
          await output?.close();
          throw e;
        });
  const recordSink = records && fanout ? teeSinks(records, fanout) : (records ?? fanout);

  const sockets: number[][] = []; // [worker][iface] → fd (af-packet)
  let libpcap: LibpcapSource | null = null;
  let ifaces: CaptureInterface[] = [];
  // Loopback shows every packet twice (sent and received): the sent copy is skipped.
  const loopback = names.map((n) => live.engine === 'af-packet' && isLoopbackInterface(n));
  const countersAtStart = new Map<string, InterfaceCounters>();
  const kernel: KernelRingStats = { packets: 0, drops: 0, freezes: 0 };
  const handles: WorkerHandle[] = [];
  let framesDroppedBackpressure = 0;
  const control = new Int32Array(new SharedArrayBuffer(4));
  const affinity = FlowAffinityCheck.createShared();
  let stoppedBy: LiveCaptureSummary['stoppedBy'] = 'signal';
  let fanoutCheck: FanoutCheckResult | null = null;

  const pollKernelStats = (): void => {
    // PACKET_STATISTICS resets on every read: accumulate.
    for (const fds of sockets) {
      for (const fd of fds) {
        const s = readPacketSocketStats(fd);
        kernel.packets += s.packets;
        kernel.drops += s.drops;
        kernel.freezes += s.freezes;
      }
    }
  };
  const closeSockets = (): void => {
    for (const fds of sockets) for (const fd of fds) closePacketSocket(fd);
    sockets.length = 0;
  };

  try {
    for (const n of names) countersAtStart.set(n, readInterfaceCounters(n));
    if (live.engine === 'af-packet') {
      ifaces = openRings(config, loopback, sockets);
      if (live.workers > 1) fanoutCheck = await checkFanoutSymmetry(live.workers);
    } else {
      const { LibpcapSource } = await import('./libpcap-source.ts');
      libpcap = LibpcapSource.open({
        ifaces: names,
        filter: live.filter,
        snapLen: live.snapLen,
        bufferSize: live.pcapBufferBytes,
        promisc: live.promisc,
        workers: live.workers,
        batchBytes: PCAP_INPUT_BATCH_BYTES,
        flushIntervalMs: 20,
        onBatch: (w, batch) => {
          const h = handles[w];
          if (!h || h.inputInFlight >= MAX_INPUT_BATCHES_IN_FLIGHT) {
            framesDroppedBackpressure += frameBatchCount(batch);
            return;
          }
          h.inputInFlight++;
          post(h.worker, { type: 'input', batch }, [batch]);
        },
      });
      ifaces = libpcap.ifaces;
    }

    const batchBytes = Math.max(2 * live.ringBlockSizeBytes, 2 * PCAP_INPUT_BATCH_BYTES);
    const frame = newFrameView();
    const toOutput = { onFrame: (f: FrameView): void => output?.write(f) };
    let writeChain = Promise.resolve();
    for (let w = 0; w < live.workers; w++) {
      const init: LiveWorkerInit = {
        worker: w,
        engine: live.engine,
        ifaces,
        fds: sockets[w] ?? [],
        skipOutgoing: loopback,
        ring: {
          blockSize: live.ringBlockSizeBytes,
          blockCount: live.ringBlocks,
          blockTimeoutMs: live.ringBlockTimeoutMs,
        },
        snapLen: live.snapLen,
        flowConfig: { flows: config.flows, cutoff: config.cutoff },
        sendFrames: output !== null,
        sniff: recordSink ? { config: { sniff: config.sniff }, service: sourceName } : null,
        batchBytes,
        batchBuffers: BATCH_BUFFERS,
        control: control.buffer,
        affinity,
      };
      const worker = startWorker(siblingModule(import.meta.url, 'live-worker'), {
        workerData: init,
      });
      let ready!: () => void;
      let failed!: (e: Error) => void;
      const readyP = new Promise<void>((res, rej) => {
        ready = res;
        failed = rej;
      });
      const h: WorkerHandle = { worker, counters: null, done: Promise.resolve(), inputInFlight: 0 };
      h.done = new Promise<void>((resolveDone, rejectDone) => {
        worker.on('message', (m: WorkerMessage) => {
          switch (m.type) {
            case 'ready':
              ready();
              break;
            case 'frames':
              // Written in arrival order; the buffer goes back once the output has room again.
              writeChain = writeChain.then(async () => {
                if (output) {
                  walkFrameBatch(m.batch, ifaces, frame, toOutput);
                  await output.drain();
                }
                post(worker, { type: 'frames-return', batch: m.batch }, [m.batch]);
              });
              break;
            case 'input-done':
              h.inputInFlight--;
              break;
            case 'records':
              for (const r of m.records) recordSink?.write(r);
              break;
            case 'stats':
              h.counters = m.counters;
              break;
            case 'done':
              h.counters = m.counters;
              resolveDone();
              break;
            case 'error': {
              const e = new TapgateError(
                'TG_ERR_CAPTURE_ENGINE',
                `capture worker ${String(w)}: ${m.message}`,
              );
              failed(e);
              rejectDone(e);
              break;
            }
          }
        });
        worker.on('error', (e) => {
          failed(e);
          rejectDone(e);
        });
        worker.on('exit', () => {
          const e = new Error(`capture worker ${String(w)} exited early`);
          failed(e);
          rejectDone(e);
        });
      });
      h.done.catch(() => undefined); // observed below; never an unhandled rejection
      handles.push(h);
      await readyP;
    }

    opts.onStarted?.(fanoutCheck);

    // Running: tick the output (wall-clock rotation), poll kernel counters, report progress.
    const progress = (): LiveCaptureProgress => ({
      flow: mergeFlowStats(handles.map((h) => h.counters?.flow ?? null)),
      kernel: live.engine === 'af-packet' ? { ...kernel } : null,
      perWorker: handles.map((h) => h.counters),
      output: output?.stats ?? null,
      sniff: recordSink ? mergeSniffStats(handles.map((h) => h.counters?.sniff ?? null)) : null,
      sinks: fanout?.stats() ?? [],
      elapsedSec: elapsed(),
    });
    await new Promise<void>((resolve, reject) => {
      const finish = (by: LiveCaptureSummary['stoppedBy']): void => {
        stoppedBy = by;
        clearInterval(timer);
        if (durationTimer) clearTimeout(durationTimer);
        opts.signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        finish('signal');
      };
      const timer = setInterval(() => {
        pollKernelStats();
        output?.tick().catch(() => undefined); // write errors are counted in output.stats
        opts.onProgress?.(progress());
      }, opts.progressIntervalMs ?? TICK_MS);
      const durationTimer =
        live.durationSec > 0
          ? setTimeout(() => {
              finish('duration');
            }, live.durationSec * 1000)
          : null;
      if (opts.signal?.aborted) finish('signal');
      else opts.signal?.addEventListener('abort', onAbort);
      // A worker that fails while running ends the capture with its error.
      for (const h of handles) {
        h.done.catch((e: unknown) => {
          clearInterval(timer);
          if (durationTimer) clearTimeout(durationTimer);
          opts.signal?.removeEventListener('abort', onAbort);
          reject(e instanceof Error ? e : new Error(String(e)));
        });
      }
    });

    // Stop: no new input, workers drain and report, then the output closes.
    libpcap?.close();
    Atomics.store(control, CONTROL_STOP, 1);
    for (const h of handles) post(h.worker, { type: 'stop' });
    await Promise.all(handles.map((h) => withTimeout(h.done, WORKER_STOP_TIMEOUT_MS, 'stop')));
    await writeChain;
    pollKernelStats();
  } finally {
    libpcap?.close();
    await Promise.all(handles.map((h) => h.worker.terminate()));
    closeSockets();
    await output?.close();
    try {
      await records?.close();
    } finally {
      await fanout?.close();
    }
  }

  const interfaceCounters: Record<string, InterfaceCounters> = {};
  for (const n of names) {
    const a = countersAtStart.get(n)!;
    const b = readInterfaceCounters(n);
    interfaceCounters[n] = {
      rxPackets: b.rxPackets - a.rxPackets,
      rxDropped: b.rxDropped - a.rxDropped,
      rxMissedErrors: b.rxMissedErrors - a.rxMissedErrors,
    };
  }
  const perWorker = handles.map((h) => h.counters!);
  const cpu = process.cpuUsage(cpuStart);
  const lp = libpcap;
  return {
    interfaces: names,
    engine: live.engine,
    workers: live.workers,
    flow: mergeFlowStats(perWorker.map((c) => c.flow)),
    kernel: live.engine === 'af-packet' ? kernel : null,
    perWorker,
    interfaceCounters,
    libpcap: lp
      ? { packets: lp.stats.packets, truncated: lp.stats.truncated, framesDroppedBackpressure }
      : null,
    affinityViolations: perWorker.reduce((a, c) => a + c.affinityViolations, 0),
    fanoutCheck,
    output: output?.stats ?? null,
    sniff: recordSink ? mergeSniffStats(perWorker.map((c) => c.sniff)) : null,
    records: records?.stats ?? null,
    sinks: fanout?.stats() ?? [],
    stoppedBy,
    elapsedSec: elapsed(),
    cpuSec: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * Opens one socket per worker and interface, in worker order: the kernel's fanout hash picks a
 * member by its position in the group, so worker w is member w of every interface's group and a
 * flow seen on two interfaces still lands on one worker.
 */
function openRings(
  config: CaptureConfig,
  loopback: readonly boolean[],
  sockets: number[][],
): CaptureInterface[] {
  const live = config.live;
  const ifaces: CaptureInterface[] = [];
  // One program per interface, compiled before any socket opens (a bad filter opens nothing).
  const filters = config.interfaces.map((name) =>
    compileInterfaceFilter(live.filter, name, live.snapLen),
  );
  for (let w = 0; w < live.workers; w++) {
    const fds: number[] = [];
    sockets.push(fds);
    config.interfaces.forEach((name, i) => {
      const s = openAfPacketSocket({
        iface: name,
        blockSize: live.ringBlockSizeBytes,
        blockCount: live.ringBlocks,
        blockTimeoutMs: live.ringBlockTimeoutMs,
        promisc: live.promisc,
        fanoutGroup: live.workers > 1 ? fanoutGroupId(i) : -1,
        filter: filters[i]!,
        ignoreOutgoing: loopback[i]!,
      });
      if (w === 0) {
        ifaces.push({
          id: i,
          linkType: s.linkType,
          snapLen: live.snapLen,
          tsPrecision: 'ns',
          name,
        });
      }
      fds.push(s.fd);
    });
  }
  return ifaces;
}

/** Fanout group ids are per interface and system-wide: derive them from our pid. */
function fanoutGroupId(ifaceIndex: number): number {
  return (process.pid * 8 + ifaceIndex) & 0xffff;
}

function post(worker: Worker, m: MainMessage, transfer: ArrayBuffer[] = []): void {
  worker.postMessage(m, transfer);
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(new TapgateError('TG_ERR_CAPTURE_ENGINE', `capture workers did not ${what}`));
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sums the workers' flow counters (cause maps merged key by key). */
export function mergeFlowStats(list: readonly (FlowStageStats | null)[]): FlowStageStats {
  const total: FlowStageStats = {
    packets: 0,
    bytes: 0,
    packetsWritten: 0,
    bytesWritten: 0,
    packetsCut: 0,
    bytesCut: 0,
    packetsWithoutFlow: 0,
    fragmentsUnmatched: 0,
    flowsCreated: 0,
    flowsActive: 0,
    flowsCut: 0,
    flowsEnded: {},
    decodeIssues: {},
    flowSizeCounts: [],
    flowSizeSum: 0,
  };
  for (const s of list) {
    if (!s) continue;
    s.flowSizeCounts.forEach(
      (n, i) => (total.flowSizeCounts[i] = (total.flowSizeCounts[i] ?? 0) + n),
    );
    for (const k of Object.keys(total) as (keyof FlowStageStats)[]) {
      const v = s[k];
      if (typeof v === 'number') (total[k] as number) += v;
    }
    for (const [k, v] of Object.entries(s.flowsEnded)) {
      total.flowsEnded[k] = (total.flowsEnded[k] ?? 0) + v;
    }
    for (const [k, v] of Object.entries(s.decodeIssues)) {
      total.decodeIssues[k] = (total.decodeIssues[k] ?? 0) + v;
    }
  }
  return total;
}

/** Sums the workers' sniffing counters. */
export function mergeSniffStats(list: readonly (SniffStats | null)[]): SniffStats {
  const total: SniffStats = {
    sessionsCreated: 0,
    sessionsActive: 0,
    records: {},
    parseErrors: {},
    fragmentsSkipped: 0,
    udpDatagramsReassembled: 0,
    udpFragmentsDropped: 0,
    reassemblyMemoryUsed: 0,
    reassemblyEvictions: 0,
    reassemblyEvictedBytes: 0,
    reassemblyGaps: 0,
    reassemblyGapBytes: 0,
  };
  for (const s of list) {
    if (!s) continue;
    for (const k of Object.keys(total) as (keyof SniffStats)[]) {
      const v = s[k];
      if (typeof v === 'number') (total[k] as number) += v;
    }
    for (const [k, v] of Object.entries(s.records)) total.records[k] = (total.records[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.parseErrors)) {
      total.parseErrors[k] = (total.parseErrors[k] ?? 0) + v;
    }
  }
  return total;
}
