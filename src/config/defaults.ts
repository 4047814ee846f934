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
  /** Deflate only while it saves ≥ 20% of the bytes (encrypted payloads do not): see pcap-gzip-policy.ts. */
  gzipMinSaving: 0.2,
  engine: 'af-packet',
  snapLen: 262144,
  /** 64 × 1 MiB per worker and interface: ~0.6 s of a saturated 1 Gbit/s link. */
  ringBlockSizeBytes: 1024 * 1024,
  ringBlocks: 64,
  ringBlockTimeoutMs: 10,
  pcapBufferBytes: 64 * 1024 * 1024,
  /** Sniffing (GOST's defaults): bodies off, 64 KiB per body when on, 10 WebSocket frames/s. */
  httpBody: false,
  httpMaxBodySize: 64 * 1024,
  websocketFrames: true,
  websocketSampleRate: 10,
  dnsPorts: [53, 5353, 5355] as readonly number[],
  /** Out-of-order TCP bytes held per thread, and per connection side. */
  reassemblyMemoryBytes: 256 * 1024 * 1024,
  reassemblyPerSideBytes: 256 * 1024,
} as const;
