/**
 * Loads tapgate's native addon (native-bindings/, built by `npm run build:native`). Optional: when it
 * is not built or cannot load, callers fall back to portable code paths, so a missing compiler never
 * breaks file capture.
 */
import { createRequire } from 'node:module';

export interface NativeAddon {
  /** Read-only mapping of a non-empty regular file, or null for anything else. Throws on errors. */
  mapFile(path: string): Buffer | null;
  /**
   * The walk has passed `upTo` (never decreasing): drops the mapped pages below it from the process
   * (they stay readable) and maps the ones after it ahead of the walk, on a thread of the addon;
   * `upTo = mapping.length` ends that thread.
   */
  releaseMapped(mapping: Buffer, upTo: number): void;

  /**
   * An AF_PACKET socket with a TPACKET_V3 receive ring, bound to `opts.iface`. Throws a TypeError
   * for bad options, else an Error whose `code` is the errno name and whose message names the step
   * (`setsockopt(PACKET_FANOUT): Invalid argument`); the fd is closed on failure.
   */
  openPacketSocket(opts: PacketSocketOptions): PacketSocketInfo;
  /**
   * Compiles a tcpdump filter into an array of `struct sock_filter` (8 bytes each). With `iface`,
   * compiles for a live socket on it (the kernel has moved the outer VLAN tag into metadata), else
   * for capture-file bytes. Throws an Error with code 'EFILTER' and libpcap's message.
   */
  compileFilter(expr: string, linkType: number, snapLen: number, iface: string | null): Buffer;
  /** PACKET_STATISTICS since the previous call: the kernel resets them on every read. */
  packetSocketStats(fd: number): PacketSocketCounters;
  closeFd(fd: number): void;
  /** Maps the ring of a socket opened with the same geometry; works in any thread. */
  PacketRing: new (fd: number, blockSize: number, blockCount: number) => NativePacketRing;
  /** Destination before a REDIRECT/DNAT (conntrack), or null when the kernel has none. */
  originalDst(fd: number): OriginalDst | null;
}

export interface PacketSocketOptions {
  iface: string;
  /** Bytes per ring block: a power of two and a multiple of the page size. */
  blockSize: number;
  blockCount: number;
  /** The kernel hands over a block that is not full after this long (0: it picks). */
  blockTimeoutMs: number;
  promisc: boolean;
  /** PACKET_FANOUT group (hash mode, defragmenting), 0..65535; -1 for none. */
  fanoutGroup: number;
  /** Classic BPF program from `compileFilter`, attached before any packet can arrive; or null. */
  filter: Buffer | null;
  /** PACKET_IGNORE_OUTGOING: skip packets this host sends (useful on `lo`). */
  ignoreOutgoing: boolean;
}

export interface PacketSocketInfo {
  fd: number;
  ifindex: number;
  /** ARPHRD_* of the interface (1 Ethernet, 772 loopback, 0xfffe none/tun, …). */
  arphrd: number;
}

export interface PacketSocketCounters {
  /** Packets that passed the filter, dropped ones included. */
  packets: number;
  /** Packets dropped because the ring was full. */
  drops: number;
  /** Times the ring was found full. */
  freezes: number;
}

/**
 * A mapped TPACKET_V3 ring. `next` blocks the calling thread in poll(2) for up to `timeoutMs` and
 * returns the index of the next block user space owns (-1 on timeout); blocks come strictly in
 * ring order and each must be handed back with `release(index)` before the next one. `buffer`
 * spans the whole ring (zero-copy); a block's bytes are valid only until its release. `close`
 * detaches `buffer` and unmaps; the fd stays open (it belongs to whoever opened it).
 */
export interface NativePacketRing {
  readonly buffer: ArrayBuffer;
  next(timeoutMs: number): number;
  release(index: number): void;
  close(): void;
}

export interface OriginalDst {
  family: 4 | 6;
  address: string;
  port: number;
}

const ADDON_PATH = '../../native-bindings/build/Release/tapgate_native.node';
let cached: NativeAddon | null | undefined;

/** The addon, or null when it is not available (and why, in `nativeAddonError`). */
export function nativeAddon(): NativeAddon | null {
  if (cached === undefined) {
    try {
      cached = createRequire(import.meta.url)(ADDON_PATH) as NativeAddon;
    } catch (e) {
      nativeAddonError = e instanceof Error ? e.message : String(e);
      cached = null;
    }
  }
  return cached;
}

export let nativeAddonError: string | null = null;
