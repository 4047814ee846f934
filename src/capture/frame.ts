/**
 * What every capture source hands downstream: one frame at a time, as a view.
 *
 * A `FrameView` is a single mutable object that the source rewrites for every frame, and `data`
 * aliases the source's read buffer (or a ring block). Both are valid only during the callback that
 * received them: copy what you keep (gopacket's aliasing rule; gotm's bug b99b600).
 */

/** Timestamp precision of an interface, and of the classic pcap file written for it. */
export type TsPrecision = 'us' | 'ns';

/** A capture interface: a classic pcap file has one, a pcapng file one per IDB. */
export interface CaptureInterface {
  /** Index in the source (pcapng interface id; 0 for classic pcap). */
  readonly id: number;
  /** LINKTYPE_* value (https://www.tcpdump.org/linktypes.html). */
  readonly linkType: number;
  /** Snapshot length; 0 in the source is normalised to 262144. */
  readonly snapLen: number;
  /** 'ns' when the source resolution is finer than microseconds, else 'us'. */
  readonly tsPrecision: TsPrecision;
  /** Interface name when the source knows it (pcapng if_name, live interface name). */
  readonly name: string;
}

export interface FrameView {
  /** Buffer holding the frame bytes at `offset .. offset + capLen`. Borrowed: copy what you keep. */
  data: Buffer;
  offset: number;
  /** Bytes captured (present in `data`). */
  capLen: number;
  /** Length of the frame on the wire. */
  origLen: number;
  /** Seconds since the Unix epoch. */
  tsSec: number;
  /** Nanoseconds within the second, 0..999_999_999. */
  tsNsec: number;
  iface: CaptureInterface;
}

export function newFrameView(): FrameView {
  return {
    data: Buffer.alloc(0),
    offset: 0,
    capLen: 0,
    origLen: 0,
    tsSec: 0,
    tsNsec: 0,
    iface: { id: 0, linkType: 1, snapLen: 262144, tsPrecision: 'us', name: '' },
  };
}

/**
 * Receives frames from a source. `onFrame` is synchronous and called for every frame of a chunk;
 * the source then awaits `drain()` before reading further, which is where a slow consumer (a gzip
 * writer) applies backpressure.
 */
export interface FrameConsumer {
  onFrame(frame: FrameView): void;
  drain(): Promise<void> | void;
}

/** Counters a source keeps about its own input, by cause. */
export interface SourceStats {
  frames: number;
  /** Frame bytes as captured (sum of capLen). */
  bytes: number;
  /** Input bytes consumed (compressed bytes for a gzip file): drives the progress bar. */
  inputBytesRead: number;
  /** Total input bytes when known (regular files), else 0. */
  inputBytesTotal: number;
  /** Problems counted and survived, by cause (e.g. `truncated_record`, `caplen_over_snaplen`). */
  errors: Record<string, number>;
}
