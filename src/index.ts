/**
 * tapgate's programmatic API. Nothing here prints or exits: results are returned, problems are
 * thrown as TapgateError (with a stable `code`) or counted in the returned statistics.
 */
export { TapgateError, isTapgateError, type ErrorCode } from './errors.ts';
export { version } from './version.ts';
export type {
  FrameView,
  FrameConsumer,
  CaptureInterface,
  SourceStats,
  TsPrecision,
} from './capture/frame.ts';
export { openCaptureFile, type CaptureFileSource } from './capture/open-capture.ts';
export {
  runCapture,
  sourceNameOf,
  type CaptureProgress,
  type CaptureSummary,
  type CaptureRunOptions,
} from './capture/run-capture.ts';
export {
  runLiveCapture,
  mergeFlowStats,
  type LiveCaptureSummary,
  type LiveCaptureProgress,
  type LiveCaptureRunOptions,
  type KernelRingStats,
} from './capture/live-capture.ts';
export { checkFanoutSymmetry, type FanoutCheckResult } from './capture/fanout-check.ts';
export type { InterfaceCounters } from './capture/af-packet-socket.ts';
export {
  resolveCaptureConfig,
  defaultCaptureConfig,
  type CaptureConfig,
  type CaptureConfigPatch,
  type CaptureEngine,
  type LiveCaptureSettings,
} from './config/capture-config.ts';
export { parseCaptureConfig, loadCaptureConfigFile } from './config/capture-config-yaml.ts';
export { defaults } from './config/defaults.ts';
export { parseSize, parseDuration } from './config/units.ts';
export { PacketDecoder, IpProto, TcpFlag } from './decode/packet-decoder.ts';
export { DecodeIssue, decodeIssueNames } from './decode/decode-errors.ts';
export { LinkType, linkTypeName } from './decode/link-types.ts';
export {
  FlowTable,
  FlowEnd,
  Dir,
  type FlowTableOptions,
  type FlowTimeouts,
} from './flow/flow-table.ts';
export {
  CutoffPolicy,
  type CutoffClass,
  type CutoffLimits,
  type CutoffOptions,
} from './flow/cutoff.ts';
export { parseCidr, type Cidr } from './flow/cidr.ts';
export { FlowStage, type FlowStageStats, type FrameSink } from './flow/flow-stage.ts';
export { PcapOutput, type PcapOutputOptions, type PcapOutputStats } from './pcap/pcap-output.ts';
export { type PacketObserver } from './flow/flow-stage.ts';
export { SniffStage, type RecordSink, type SniffStats } from './sniff/sniff-stage.ts';
export {
  Side,
  defaultSniffConfig,
  type DatagramSniffer,
  type SniffConfig,
  type SniffContext,
  type StreamSniffer,
  type Timestamp,
} from './sniff/sniffer.ts';
export { TcpReassembler } from './reassembly/tcp-reassembler.ts';
export { ReassemblyMemory } from './reassembly/reassembly-memory.ts';
export { Http1Sniffer } from './sniff/http1/http1-sniffer.ts';
export { createHttp2Sniffer } from './sniff/http2/http2-sniffer.ts';
export { TlsSniffer } from './sniff/tls/tls-sniffer.ts';
export { QuicInitialSniffer } from './sniff/quic/quic-initial-sniffer.ts';
export { DnsDatagramSniffer, DnsStreamSniffer } from './sniff/dns/dns-sniffer.ts';
export { ProtocolDetector, snifferFactories } from './sniff/protocol-detector.ts';
export { serializeRecord } from './record/gost-json.ts';
export { JsonlSink } from './record/jsonl-sink.ts';
export type { GostRecord, RecordUnit } from './record/record-types.ts';
