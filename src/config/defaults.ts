/**
 * Every default in one place, units in the names. The CLI, the YAML loader and the programmatic API
 * all start from these.
 */
export const defaults = {
  cutoffBytes: 64 * 1024,
  cutoffPackets: 1000,
  cutoffPerDirection: false,
  maxFlows: 1_000_000,
  tcpTimeoutSec: 300,
  udpTimeoutSec: 60,
  otherTimeoutSec: 30,
  tcpClosedTimeoutSec: 5,
  rotateIntervalSec: 60,
  rotateSizeBytes: 0,
  retainSizeBytes: 0,
  retainAgeSec: 0,
  compress: false,
  gzipLevel: 1,
} as const;
