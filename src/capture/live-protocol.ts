/**
 * What the main thread and the capture workers say to each other.
 *
 *   main                                         worker i
 *    │ workerData: LiveWorkerInit ────────────────►│ maps its rings (af-packet) or waits for input
 *    │◄──────────────────────────────── ready ─────│
 *    │ input {batch} (pcap engine) ───────────────►│ frames → FlowStage → admitted frames
 *    │◄─────────────────────── input-done ─────────│
 *    │◄──────────── frames {batch} (transferred) ──│ admitted frames packed in batches
 *    │ (writes them to the PcapOutput, then) ─────►│
 *    │ frames-return {batch} (transferred back) ───►│ the buffer goes back to the worker's pool
 *    │◄─────────────────────────── stats ──────────│ about once a second
 *    │ control[STOP] = 1 (Atomics) + stop ─────────►│ drains its rings, ends its flows
 *    │◄──────────────────────────── done ──────────│ final stats; main then terminates it
 *
 * The frame buffers are the only memory that crosses threads in bulk; a worker owns a fixed pool
 * of them, so a slow disk ends in the kernel ring (dropping, counted) rather than in the heap.
 */
import type { CaptureEngine, CaptureConfig } from '../config/capture-config.ts';
import type { FlowStageStats } from '../flow/flow-stage.ts';
import type { GostRecord } from '../record/record-types.ts';
import type { SniffStats } from '../sniff/sniff-stage.ts';
import type { CaptureInterface } from './frame.ts';

/** Index of the stop flag in the shared control array (Int32Array over `control`). */
export const CONTROL_STOP = 0;

export interface LiveWorkerInit {
  worker: number;
  engine: CaptureEngine;
  ifaces: CaptureInterface[];
  /** af-packet: one socket per interface, opened (and later closed) by the main thread. */
  fds: number[];
  /** Per interface: skip packets this host sent (loopback; see AfPacketRing). */
  skipOutgoing: boolean[];
  ring: { blockSize: number; blockCount: number; blockTimeoutMs: number };
  snapLen: number;
  flowConfig: Pick<CaptureConfig, 'flows' | 'cutoff'>;
  /** false with --no-pcap: admitted frames are counted, not sent. */
  sendFrames: boolean;
  /** With --records: reassembly and sniffers run in the worker; records go to the main thread. */
  sniff: { config: Pick<CaptureConfig, 'sniff'>; service: string } | null;
  /** Size and count of the frame buffers the worker fills for the main thread. */
  batchBytes: number;
  batchBuffers: number;
  control: SharedArrayBuffer;
  affinity: SharedArrayBuffer;
}

export interface WorkerCounters {
  flow: FlowStageStats;
  /** af-packet: ring blocks and packets walked; VLAN tags put back into frames. */
  ring: { blocks: number; packets: number; vlanTagsRestored: number };
  /** Flows this worker created that another worker had created too (fanout broke affinity). */
  affinityViolations: number;
  /** Frames the flow stage admitted but no frame buffer could hold (must stay 0). */
  framesUnsent: number;
  sniff: SniffStats | null;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'frames'; batch: ArrayBuffer }
  | { type: 'input-done'; batch: ArrayBuffer }
  /** Structured-cloned: byte fields arrive as Uint8Array. */
  | { type: 'records'; records: GostRecord[] }
  | { type: 'stats'; counters: WorkerCounters }
  | { type: 'done'; counters: WorkerCounters }
  | { type: 'error'; code: string | null; message: string };

export type MainMessage =
  | { type: 'input'; batch: ArrayBuffer }
  | { type: 'frames-return'; batch: ArrayBuffer }
  | { type: 'stop' };
