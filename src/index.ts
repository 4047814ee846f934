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
