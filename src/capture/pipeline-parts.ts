/**
 * The pieces every capture job builds from its CaptureConfig, whatever feeds it (a file on the
 * main thread, a ring in a worker thread): the flow stage and the pcap output options.
 */
import type { CaptureConfig } from '../config/capture-config.ts';
import { CutoffPolicy } from '../flow/cutoff.ts';
import { FlowStage, type FlowStageOptions, type FrameSink } from '../flow/flow-stage.ts';
import type { PcapOutput, PcapOutputOptions } from '../pcap/pcap-output.ts';
import type { JsonlSinkOptions } from '../record/jsonl-sink.ts';
import { SniffStage, type RecordSink } from '../sniff/sniff-stage.ts';

type FlowSettings = Pick<CaptureConfig, 'flows' | 'cutoff'>;

export function createFlowStage(
  config: FlowSettings,
  sink: FrameSink | null,
  hooks: Pick<FlowStageOptions, 'onFlowCreated' | 'observer'> = {},
): FlowStage {
  return new FlowStage({
    flows: {
      maxFlows: config.flows.maxFlows,
      timeouts: {
        tcpSec: config.flows.tcpTimeoutSec,
        udpSec: config.flows.udpTimeoutSec,
        otherSec: config.flows.otherTimeoutSec,
        tcpClosedSec: config.flows.tcpClosedTimeoutSec,
      },
    },
    cutoff: new CutoffPolicy({
      defaults: { bytes: config.cutoff.bytes, packets: config.cutoff.packets },
      classes: config.cutoff.classes,
      perDirection: config.cutoff.perDirection,
    }),
    sink,
    ...hooks,
  });
}

/** What a job tells its caller about the pcap files as they happen (logs, not the pipeline). */
export type PcapEvents = Pick<PcapOutputOptions, 'onFileClosed' | 'onWriteError'>;

export function pcapOutputOptions(
  config: CaptureConfig & { outDir: string },
  sourceName: string,
  clock: 'packet' | 'wall',
  events: PcapEvents = {},
): PcapOutputOptions {
  return {
    ...events,
    outDir: config.outDir,
    sourceName: config.sourceName ?? sourceName,
    compress: config.compress,
    gzipLevel: config.gzipLevel,
    gzipMinSaving: config.gzipMinSaving,
    rotateIntervalSec: config.rotateIntervalSec,
    rotateSizeBytes: config.rotateSizeBytes,
    retainSizeBytes: config.retainSizeBytes,
    retainAgeSec: config.retainAgeSec,
    clock,
  };
}

/** Reassembly and sniffers feeding `sink`, for a thread's flow stage. */
export function createSniffStage(
  config: Pick<CaptureConfig, 'sniff'>,
  service: string,
  sink: RecordSink,
): SniffStage {
  const { reassemblyMemoryBytes, reassemblyPerSideBytes, ...sniff } = config.sniff;
  return new SniffStage({
    config: sniff,
    service,
    sink,
    reassemblyMemoryBytes,
    limits: { maxBufferedPerSide: reassemblyPerSideBytes },
  });
}

/** Records name the pcap files covering their flow's time span (when pcaps are written). */
export function pcapFilesOf(output: PcapOutput | null): JsonlSinkOptions {
  return output ? { pcapFiles: (first, last) => output.filesCovering(first, last) } : {};
}
