/**
 * The offline capture job: file → flow stage (decode, flows, cutoff) → rotated pcap output.
 *
 *   openCaptureFile ──frames──► FlowStage ──admitted frames──► PcapOutput ──► OUT/YYYY/MM/DD/*.pcap[.gz]
 *        ▲ awaits drain() after every chunk: the writer's backpressure throttles reading
 *
 * The job never prints and never exits: progress goes to `onProgress`, the result is the returned
 * summary, and unusable input or output rejects with a TapgateError.
 */
import { basename } from 'node:path';
import type { CaptureConfig } from '../config/capture-config.ts';
import { TapgateError } from '../errors.ts';
import type { FlowStageStats } from '../flow/flow-stage.ts';
import type { JsonlSinkStats } from '../record/jsonl-sink.ts';
import type { NamedSinkStats } from '../record/sinks/sink-target.ts';
import type { SniffStats } from '../sniff/sniff-stage.ts';
import { PcapOutput, type PcapOutputStats } from '../pcap/pcap-output.ts';
import type { SourceStats } from './frame.ts';
import { openCaptureFile } from './open-capture.ts';
import {
  createFlowStage,
  createSniffStage,
  pcapFilesOf,
  pcapOutputOptions,
  type PcapEvents,
} from './pipeline-parts.ts';

export interface CaptureProgress {
  source: SourceStats;
  flow: FlowStageStats;
  output: PcapOutputStats | null;
  /** Reassembly and sniffers; null without --records. */
  sniff: SniffStats | null;
  /** The recorders (`capture.recorders`), one entry each; empty without them. */
  sinks: NamedSinkStats[];
  elapsedSec: number;
}

export interface CaptureSummary extends CaptureProgress {
  input: string;
  format: 'pcap' | 'pcapng';
  compressedInput: boolean;
  records: JsonlSinkStats | null;
  /** True when the run was stopped through the abort signal before the input ended. */
  aborted: boolean;
  /** CPU time of this process during the run, seconds (user + system). */
  cpuSec: number;
}

export interface CaptureRunOptions {
  /** Stops reading; files are still closed properly and the summary returned. */
  signal?: AbortSignal;
  /** Called about every `progressIntervalMs` while the job runs. */
  onProgress?: (p: CaptureProgress) => void;
  progressIntervalMs?: number;
  /** pcap files finished and write errors, as they happen. */
  pcapEvents?: PcapEvents;
}

/** Name used in output file names: the input's base name without capture/gzip extensions. */
export function sourceNameOf(input: string): string {
  if (input === '-') return 'stdin';
  return basename(input).replace(/(\.(pcapng|pcap|cap|dmp|gz))+$/i, '') || 'capture';
}

export async function runCapture(
  config: CaptureConfig,
  opts: CaptureRunOptions = {},
): Promise<CaptureSummary> {
  const input = config.input;
  if (input === null) {
    throw new TapgateError('TG_ERR_USAGE', 'runCapture reads files: use runLiveCapture for -i');
  }
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const source = await openCaptureFile(input);
  const outDir = config.outDir;
  const output =
    outDir === null
      ? null
      : await PcapOutput.open(
          pcapOutputOptions({ ...config, outDir }, sourceNameOf(input), 'packet', opts.pcapEvents),
        ).catch(async (e: unknown) => {
          await source.close(); // an unusable output directory must not leak the open input
          throw e;
        });
  const sourceName = config.sourceName ?? sourceNameOf(input);
  const records =
    config.recordsPath === null
      ? null
      : await (
          await import('../record/jsonl-sink.ts')
        ).JsonlSink.open(config.recordsPath, pcapFilesOf(output)).catch(async (e: unknown) => {
          await output?.close();
          await source.close();
          throw e;
        });
  // Recorders (record sinks): loaded only when configured.
  const sinks =
    config.recorders.length === 0 ? null : await import('../record/sinks/record-fanout.ts');
  const fanout = sinks
    ? await sinks.RecordFanout.open(config.recorders, {
        offline: true,
        ...pcapFilesOf(output),
      }).catch(async (e: unknown) => {
        await records?.close().catch(() => undefined);
        await output?.close();
        await source.close();
        throw e;
      })
    : null;
  const recordSink =
    sinks && records && fanout ? sinks.teeSinks(records, fanout) : (records ?? fanout);
  const sniff = recordSink ? createSniffStage(config, sourceName, recordSink) : null;
  const stage = createFlowStage(config, output, sniff ? { observer: sniff } : {});

  const elapsed = (): number => (performance.now() - started) / 1000;
  const timer = opts.onProgress
    ? setInterval(() => {
        opts.onProgress?.({
          source: source.stats,
          flow: stage.stats,
          output: output?.stats ?? null,
          sniff: sniff?.stats ?? null,
          sinks: fanout?.stats() ?? [],
          elapsedSec: elapsed(),
        });
      }, opts.progressIntervalMs ?? 250)
    : null;
  try {
    await source.run(stage, opts.signal);
    stage.finish();
  } finally {
    if (timer) clearInterval(timer);
    await output?.close();
    try {
      await records?.close();
    } finally {
      await fanout?.close();
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  return {
    input,
    format: source.format,
    compressedInput: source.compressed,
    source: source.stats,
    flow: stage.stats,
    output: output?.stats ?? null,
    sniff: sniff?.stats ?? null,
    records: records?.stats ?? null,
    sinks: fanout?.stats() ?? [],
    elapsedSec: elapsed(),
    aborted: opts.signal?.aborted ?? false,
    cpuSec: (cpu.user + cpu.system) / 1e6,
  };
}
