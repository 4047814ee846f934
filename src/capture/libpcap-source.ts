/**
 * The portable capture engine (`--engine pcap`): libpcap through the optional `cap` package, on the
 * main thread, with frames handed to the capture workers in batches.
 *
 *   libpcap ─poll─► cap: one 'packet' event per frame, bytes in one shared Buffer per interface
 *     └─► #onPacket: timestamp, flowAffinityHash → worker w, append to w's FrameBatchWriter
 *           └─► full, every flushIntervalMs, flush() or close() ─► onBatch(w, batch) ══► worker w
 *
 * Facts about `cap` 0.2.1 that shape this module:
 * - Main thread only: its addon is not context-aware (a worker that loads it after the main thread
 *   gets "Module did not self-register"), and a capture opened in a worker aborts the process.
 * - No timestamps: `pcap_pkthdr.ts` is not passed to JavaScript. Frames are stamped when their
 *   callback runs, with a monotonic clock (performance.now()) anchored once to the wall clock at
 *   open. Stamps are therefore late by the event-loop latency, and frames read in one burst carry
 *   nearly equal stamps; wall-clock steps after open are not followed.
 * - No wire length: cap reports the captured length and whether the frame was longer than our
 *   Buffer. Frames are recorded with origLen = capLen; the ones cut to our Buffer are counted in
 *   `stats.truncated`. libpcap's own snaplen is fixed at 65535 (larger frames, e.g. GRO
 *   super-packets, are cut there without a truncation flag), so the effective snapLen is at most
 *   65535.
 * - Always promiscuous: cap calls pcap_set_promisc(1); `promisc: false` cannot be honoured.
 * - Immediate mode is always on, so libpcap uses TPACKET_V2 with ~64 KiB frame slots: a 64 MiB
 *   buffer holds only about a thousand packets. There is no pcap_stats(): kernel drops are unknown.
 * - pcap_lookupnet() prints "Warning: …: This may not actually work" to stderr for an interface
 *   without an IPv4 address; harmless, and not ours to silence.
 * - No Cap may ever be garbage-collected (seen with cap 0.2.1 on Node 20, both reproduced):
 *   its uv_poll_t is stopped by close() but never uv_close()d, so it stays linked in libuv's handle
 *   queue after the object is freed, and closing a neighbouring handle later writes into freed
 *   memory (SIGSEGV); and the destructor of a Cap whose open() failed stops a poll handle that
 *   was never initialised (SIGABRT or SIGSEGV). Every Cap created here is therefore kept reachable
 *   for the life of the process (`everyCap`, a few hundred bytes each; a Cap cannot be reopened).
 *   To keep failures cheap, unknown interfaces and a missing CAP_NET_RAW are detected before any
 *   open(), and each interface is probed with a small buffer first (without, then with the
 *   filter): a Cap that failed on a bad filter holds an open packet socket with a
 *   PROBE_BUFFER_BYTES ring.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import { TapgateError } from '../errors.ts';
import { LinkType } from '../decode/link-types.ts';
import { flowAffinityHash, workerFor } from '../flow/flow-affinity.ts';
import type { CaptureInterface } from './frame.ts';
import { FrameBatchWriter, MIN_BATCH_BYTES } from './frame-batch.ts';

export interface LibpcapSourceOptions {
  /** Interfaces to capture on, one Cap each; frames carry their index here as interface id. */
  ifaces: string[];
  /** tcpdump filter expression compiled by libpcap; '' = everything. */
  filter: string;
  /** Bytes kept per frame (cap's Buffer size); libpcap itself stops at 65535. */
  snapLen: number;
  /** libpcap's kernel buffer in bytes (cap.open's bufSize); 64 MiB is a good default. */
  bufferSize: number;
  /** Ignored: cap always opens the interface in promiscuous mode. */
  promisc: boolean;
  /** Number of batch destinations (capture workers). */
  workers: number;
  /** Size of each batch buffer; 256 KiB is a good default. */
  batchBytes: number;
  /** Partly filled batches are handed over at least this often (20 is a good default). */
  flushIntervalMs: number;
  /** Receives each batch for worker `worker`; the batch is the caller's (transfer it). Must not throw. */
  onBatch(worker: number, batch: ArrayBuffer): void;
}

export interface LibpcapSourceStats {
  /** Frames captured (all interfaces). */
  packets: number;
  /** Frame bytes captured (sum of capLen). */
  bytes: number;
  /** Frames longer than snapLen, cut to it (their wire length is unknown). */
  truncated: number;
  /** Batches handed to onBatch. */
  batches: number;
  /** Frames sent to each worker. */
  perWorker: number[];
}

/** The subset of cap's API used here (the package ships no types). */
interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  close(): boolean;
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event: 'packet'): unknown;
}

interface CapModule {
  Cap: {
    new (): CapHandle;
    deviceList(): { name: string }[];
  };
}

/** libpcap's snaplen inside cap (pcap_set_snaplen(65535)). */
export const CAP_MAX_SNAPLEN = 65535;
/** Buffer of the probe opens that check interface, permission and filter before the real one. */
const PROBE_BUFFER_BYTES = 1 << 20;
/** A timer flush copies a batch filled below this fraction instead of handing over its buffer. */
const TIMER_FLUSH_COPY_FRACTION = 0.5;
/** CAP_NET_RAW's bit in /proc/self/status CapEff (linux/capability.h). */
const CAP_NET_RAW_BIT = 13n;

/** cap's link type names (its open() return value) → LINKTYPE_* values. */
const CAP_LINK_TYPES: Record<string, number> = {
  ETHERNET: LinkType.Ethernet,
  NULL: LinkType.Null,
  LINKTYPE_LINUX_SLL: LinkType.LinuxSll,
  RAW: LinkType.Raw,
};
/** Link types cap reports as "Unknown linktype N" whose DLT value equals the LINKTYPE value. */
const DLT_EQUALS_LINKTYPE = new Set<number>([
  LinkType.Loop,
  LinkType.LinuxSll2,
  LinkType.Ipv4,
  LinkType.Ipv6,
]);

/** Every Cap ever created: collecting one, open, closed or failed, crashes the process later. */
const everyCap: CapHandle[] = [];

function newCap(cap: CapModule): CapHandle {
  const c = new cap.Cap();
  everyCap.push(c);
  return c;
}

let capModule: CapModule | undefined;

function loadCap(): CapModule {
  if (!isMainThread) {
    throw new TapgateError(
      'TG_ERR_CAPTURE_ENGINE',
      'the libpcap engine runs on the main thread only (the cap package cannot load in a worker)',
    );
  }
  if (capModule === undefined) {
    try {
      capModule = createRequire(import.meta.url)('cap') as CapModule;
    } catch (e) {
      throw new TapgateError(
        'TG_ERR_CAPTURE_ENGINE',
        'the libpcap engine needs the optional cap package (libpcap-dev + npm install)',
        { cause: e },
      );
    }
  }
  return capModule;
}

function permissionError(iface: string, cause?: unknown): TapgateError {
  return new TapgateError(
    'TG_ERR_CAPTURE_PERMISSION',
    `live capture on ${iface} needs root or CAP_NET_RAW + CAP_NET_ADMIN`,
    cause === undefined ? undefined : { cause },
  );
}

/** False only when we know for sure (Linux, CapEff readable) that CAP_NET_RAW is missing. */
function mayHaveNetRaw(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(readFileSync('/proc/self/status', 'latin1'));
    if (!m?.[1]) return true;
    return ((BigInt(`0x${m[1]}`) >> CAP_NET_RAW_BIT) & 1n) === 1n;
  } catch {
    return true;
  }
}

/** LINKTYPE_* value of cap's link type name, or -1. */
function linkTypeOf(capName: string): number {
  const known = CAP_LINK_TYPES[capName];
  if (known !== undefined) return known;
  const m = /^Unknown linktype (\d+)$/.exec(capName);
  const n = m ? Number(m[1]) : -1;
  return DLT_EQUALS_LINKTYPE.has(n) ? n : -1;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

export class LibpcapSource {
  readonly ifaces: CaptureInterface[];
  readonly stats: LibpcapSourceStats;
  readonly #caps: CapHandle[] = [];
  readonly #writers: FrameBatchWriter[] = [];
  readonly #workers: number;
  readonly #opts: LibpcapSourceOptions;
  readonly #timerCopyBelow: number;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  // Clock: frame time = anchor (wall) + performance.now() - #anchorMono.
  #anchorSec = 0;
  #anchorMsInSec = 0;
  #anchorMono = 0;

  private constructor(opts: LibpcapSourceOptions, ifaces: CaptureInterface[]) {
    this.ifaces = ifaces;
    this.#workers = opts.workers;
    this.#opts = opts;
    this.#timerCopyBelow = Math.floor(opts.batchBytes * TIMER_FLUSH_COPY_FRACTION);
    for (let w = 0; w < opts.workers; w++) {
      this.#writers.push(new FrameBatchWriter(opts.batchBytes));
    }
    this.stats = {
      packets: 0,
      bytes: 0,
      truncated: 0,
      batches: 0,
      perWorker: new Array<number>(opts.workers).fill(0),
    };
  }

  /**
   * Opens every interface and starts capturing; frames flow to `opts.onBatch` from now on.
   * @throws TapgateError TG_ERR_CAPTURE_ENGINE (cap missing, not the main thread),
   *   TG_ERR_CAPTURE_PERMISSION, TG_ERR_INTERFACE (unknown interface or link type), TG_ERR_FILTER,
   *   TG_ERR_CONFIG (impossible option values)
   */
  static open(opts: LibpcapSourceOptions): LibpcapSource {
    checkOptions(opts);
    const cap = loadCap();
    let devices: Set<string> | null = null;
    try {
      devices = new Set(cap.Cap.deviceList().map((d) => d.name));
    } catch {
      // Listing failed: the probe open() reports unknown interfaces instead.
    }
    for (const name of opts.ifaces) {
      if (devices !== null && !devices.has(name)) {
        throw new TapgateError('TG_ERR_INTERFACE', `no such interface: ${name}`);
      }
    }
    if (!mayHaveNetRaw()) throw permissionError(opts.ifaces[0]!);

    const snapLen = Math.min(opts.snapLen, CAP_MAX_SNAPLEN);
    const ifaces = opts.ifaces.map((name, id) => {
      const linkType = probe(cap, name, opts.filter);
      return { id, linkType, snapLen, tsPrecision: 'us' as const, name };
    });

    const src = new LibpcapSource(opts, ifaces);
    src.#anchorClock();
    try {
      for (const iface of ifaces) src.#openCapture(cap, iface, opts);
    } catch (e) {
      src.close();
      throw e;
    }
    src.#timer = setInterval(() => {
      src.#flushAll(src.#timerCopyBelow);
    }, opts.flushIntervalMs);
    src.#timer.unref();
    return src;
  }

  /** Hands every partly filled batch to onBatch now. */
  flush(): void {
    this.#flushAll(this.#timerCopyBelow);
  }

  /** Stops capturing, hands over what was captured and closes every Cap. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const c of this.#caps) {
      c.close();
      c.removeAllListeners('packet');
    }
    this.#flushAll(this.#timerCopyBelow);
  }

  #openCapture(cap: CapModule, iface: CaptureInterface, opts: LibpcapSourceOptions): void {
    const buffer = Buffer.alloc(iface.snapLen);
    const c = newCap(cap);
    try {
      c.open(iface.name, opts.filter, opts.bufferSize, buffer);
    } catch (e) {
      // The probes passed, so this is the buffer size or a change since (interface gone).
      throw new TapgateError(
        'TG_ERR_CAPTURE_ENGINE',
        `libpcap could not open ${iface.name} with a ${String(opts.bufferSize)}-byte buffer: ${message(e)}`,
        { cause: e },
      );
    }
    this.#caps.push(c);
    const id = iface.id;
    const linkType = iface.linkType;
    c.on('packet', (nbytes, truncated) => {
      this.#onPacket(id, linkType, buffer, nbytes, truncated);
    });
  }

  /** Anchors the frame clock to the wall clock, at the moment Date.now() ticks (sub-ms). */
  #anchorClock(): void {
    const start = Date.now();
    let wall = start;
    let mono = performance.now();
    // At most ~1 ms of spinning, once per open.
    while (wall === start && performance.now() - mono < 2) {
      wall = Date.now();
    }
    mono = performance.now();
    this.#anchorSec = Math.floor(wall / 1000);
    this.#anchorMsInSec = wall - this.#anchorSec * 1000;
    this.#anchorMono = mono;
  }

  #onPacket(
    ifaceId: number,
    linkType: number,
    buffer: Buffer,
    capLen: number,
    truncated: boolean,
  ): void {
    if (this.#closed) return;
    const ms = this.#anchorMsInSec + (performance.now() - this.#anchorMono);
    const wholeSec = Math.floor(ms / 1000);
    let tsNsec = Math.floor((ms - wholeSec * 1000) * 1e6);
    if (tsNsec > 999_999_999) tsNsec = 999_999_999;
    const tsSec = this.#anchorSec + wholeSec;

    const w = workerFor(flowAffinityHash(buffer, 0, capLen, linkType), this.#workers);
    if (!this.#writers[w]!.append(ifaceId, tsSec, tsNsec, buffer, 0, capLen, capLen)) {
      this.#emitAndAppend(w, ifaceId, tsSec, tsNsec, buffer, capLen);
    }
    const s = this.stats;
    s.packets++;
    s.bytes += capLen;
    if (truncated) s.truncated++;
    s.perWorker[w]!++;
  }

  /** Worker w's batch is full: hand it over and append to the next one (unless onBatch closed us). */
  #emitAndAppend(
    w: number,
    ifaceId: number,
    tsSec: number,
    tsNsec: number,
    buffer: Buffer,
    capLen: number,
  ): void {
    this.#emit(w, 0);
    if (this.#closed) return;
    this.#writers[w]!.append(ifaceId, tsSec, tsNsec, buffer, 0, capLen, capLen);
  }

  #flushAll(copyBelowBytes: number): void {
    for (let w = 0; w < this.#writers.length; w++) this.#emit(w, copyBelowBytes);
  }

  #emit(w: number, copyBelowBytes: number): void {
    const batch = this.#writers[w]!.take(copyBelowBytes);
    if (batch === null) return;
    this.stats.batches++;
    this.#opts.onBatch(w, batch);
  }
}

function checkOptions(o: LibpcapSourceOptions): void {
  const bad = (what: string): never => {
    throw new TapgateError('TG_ERR_CONFIG', `libpcap engine: ${what}`);
  };
  const int = (v: number, min: number, max: number): boolean =>
    Number.isSafeInteger(v) && v >= min && v <= max;
  if (o.ifaces.length === 0) bad('no interface');
  if (o.ifaces.length > 0xffff) bad('more than 65535 interfaces');
  if (new Set(o.ifaces).size !== o.ifaces.length) bad('an interface is listed twice');
  if (!int(o.snapLen, 1, 0x7fffffff)) bad(`snapLen ${String(o.snapLen)}`);
  // cap reads bufSize as a signed 32-bit integer.
  if (!int(o.bufferSize, 1, 0x7fffffff)) bad(`buffer size ${String(o.bufferSize)}`);
  if (!int(o.workers, 1, 0xffff)) bad(`workers ${String(o.workers)}`);
  if (!int(o.batchBytes, MIN_BATCH_BYTES, 0x7fffffff)) bad(`batch size ${String(o.batchBytes)}`);
  if (!(o.flushIntervalMs > 0 && o.flushIntervalMs < 2 ** 31)) {
    bad(`flush interval ${String(o.flushIntervalMs)} ms`);
  }
}

/**
 * Opens `name` with a small buffer, first without and then with the filter, so that each failure
 * has one cause and a Cap that must be kept alive holds little memory.
 * @returns the interface's LINKTYPE_* value
 */
function probe(cap: CapModule, name: string, filter: string): number {
  const buffer = Buffer.alloc(64);
  let capName: string;
  const plain = newCap(cap);
  try {
    capName = plain.open(name, '', PROBE_BUFFER_BYTES, buffer);
  } catch (e) {
    const msg = message(e);
    if (/permi|not permitted|EPERM|EACCES/i.test(msg)) throw permissionError(name, e);
    if (/no such device|doesn't exist|does not exist/i.test(msg)) {
      throw new TapgateError('TG_ERR_INTERFACE', `no such interface: ${name}`, { cause: e });
    }
    throw new TapgateError('TG_ERR_CAPTURE_ENGINE', `libpcap could not open ${name}: ${msg}`, {
      cause: e,
    });
  }
  plain.close();
  const linkType = linkTypeOf(capName);
  if (linkType < 0) {
    throw new TapgateError(
      'TG_ERR_INTERFACE',
      `${name}: link type ${capName} is not supported by the libpcap engine`,
    );
  }
  if (filter !== '') {
    const filtered = newCap(cap);
    try {
      filtered.open(name, filter, PROBE_BUFFER_BYTES, buffer);
    } catch (e) {
      throw new TapgateError('TG_ERR_FILTER', `${message(e)} (filter: ${filter})`, { cause: e });
    }
    filtered.close();
  }
  return linkType;
}
