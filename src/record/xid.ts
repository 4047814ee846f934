/**
 * Record ids in rs/xid's format (the `sid` GOST writes): 12 bytes, written as 20 characters of
 * lowercase base32hex without padding (`[0-9a-v]{20}`), sortable by time as strings.
 *
 *   bytes 0–3   unix seconds, big-endian (wraps as Go's uint32(t.Unix()))
 *   bytes 4–6   machine id: first 3 bytes of SHA-256 over /etc/machine-id (raw file bytes), else
 *               /sys/class/dmi/id/product_uuid, else the hostname, else random; XID_MACHINE_ID
 *               (a number < 2^24) overrides, as in rs/xid
 *   bytes 7–8   process id, big-endian, XOR CRC-32 of /proc/self/cpuset when that is not `/`
 *               (containers), as in rs/xid — then XOR the worker thread id (below)
 *   bytes 9–11  counter, big-endian, from a random 24-bit start, incremented before each id
 *
 * Worker threads: rs/xid keys uniqueness on the process (pid + counter), but worker threads share
 * the pid and each thread has its own module state and counter. tapgate XORs the thread's
 * `threadId` into the pid field. Thread ids are unique within a process (0 for the main thread, so
 * its ids carry exactly rs/xid's pid), hence the pid fields of a process's threads all differ and
 * every thread keeps the full 2^24 ids per second of its counter; ids from different threads of
 * one process cannot collide. (Across processes, rs/xid's 16-bit pid field can already collide.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { TapgateError } from '../errors.ts';

const RAW_LEN = 12;
const ENCODED_LEN = 20;
const ALPHABET = '0123456789abcdefghijklmnopqrstuv';
const BITS_PER_CHAR = 5;
const CHAR_MASK = 0x1f;
const BITS_PER_BYTE = 8;
const MACHINE_LEN = 3;
const MACHINE_MAX = 0xffffff;
const COUNTER_LEN = 3;
const PID_MASK = 0xffff;
const COUNTER_MASK = 0xffffff;
const INVALID = 0xff;
const MS_PER_SEC = 1000;
const PLATFORM_ID_FILES = ['/etc/machine-id', '/sys/class/dmi/id/product_uuid'];
const CPUSET_FILE = '/proc/self/cpuset';

/** ASCII code → 5-bit value, INVALID for characters outside the alphabet. */
const DECODE = new Uint8Array(128).fill(INVALID);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;

/** The fields of an id. */
export interface XidParts {
  /** Unix seconds. */
  time: number;
  /** 3 bytes. */
  machine: Uint8Array;
  /** 16-bit process field (pid, XOR cpuset CRC and thread id when made by tapgate). */
  pid: number;
  /** 24-bit counter. */
  counter: number;
}

/** 20-character base32hex (lowercase, unpadded) text of 12 raw id bytes. */
export function encodeXid(raw: Uint8Array): string {
  if (raw.length !== RAW_LEN) throw new RangeError(`xid: need ${RAW_LEN} bytes, got ${raw.length}`);
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of raw) {
    acc = (acc << BITS_PER_BYTE) | byte;
    bits += BITS_PER_BYTE;
    while (bits >= BITS_PER_CHAR) {
      bits -= BITS_PER_CHAR;
      out += ALPHABET[(acc >>> bits) & CHAR_MASK]!;
    }
    acc &= (1 << bits) - 1;
  }
  // 96 bits fill 19 characters and 1 bit of the 20th, padded with zero bits.
  return out + ALPHABET[(acc << (BITS_PER_CHAR - bits)) & CHAR_MASK]!;
}

/** The fields of a 20-character id; null when `id` is not one (wrong length or character). */
export function decodeXid(id: string): XidParts | null {
  if (id.length !== ENCODED_LEN) return null;
  const raw = new Uint8Array(RAW_LEN);
  let acc = 0;
  let bits = 0;
  let n = 0;
  for (let i = 0; i < ENCODED_LEN; i++) {
    const c = id.charCodeAt(i);
    const v = c < DECODE.length ? DECODE[c]! : INVALID;
    if (v === INVALID) return null;
    acc = (acc << BITS_PER_CHAR) | v;
    bits += BITS_PER_CHAR;
    if (bits >= BITS_PER_BYTE) {
      bits -= BITS_PER_BYTE;
      raw[n++] = (acc >>> bits) & 0xff;
    }
    acc &= (1 << bits) - 1;
  }
  // The 4 padding bits of the last character must be zero, or the text is not canonical
  // (rs/xid rejects it the same way).
  if (acc !== 0) return null;
  const view = new DataView(raw.buffer);
  return {
    time: view.getUint32(0),
    machine: raw.slice(4, 4 + MACHINE_LEN),
    pid: view.getUint16(7),
    counter: (raw[9]! << 16) | (raw[10]! << 8) | raw[11]!,
  };
}

/** Ids from one fixed machine id and pid field, with a running counter. */
export class XidGenerator {
  readonly #raw = new Uint8Array(RAW_LEN);
  readonly #view = new DataView(this.#raw.buffer);
  #counter: number;

  /** `counterStart` is the counter *before* the first id (rs/xid increments first). */
  constructor(machine: Uint8Array, pid: number, counterStart: number) {
    if (machine.length !== MACHINE_LEN) throw new RangeError('xid: machine id must be 3 bytes');
    this.#raw.set(machine, 4);
    this.#view.setUint16(7, pid & PID_MASK);
    this.#counter = counterStart & COUNTER_MASK;
  }

  /** A new id stamped with `nowSec` (unix seconds; fractions are dropped). */
  next(nowSec: number): string {
    this.#counter = (this.#counter + 1) & COUNTER_MASK;
    this.#view.setUint32(0, Math.floor(nowSec) >>> 0);
    this.#raw[9] = this.#counter >>> 16;
    this.#raw[10] = (this.#counter >>> 8) & 0xff;
    this.#raw[11] = this.#counter & 0xff;
    return encodeXid(this.#raw);
  }
}

function readFileOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** XID_MACHINE_ID as 3 big-endian bytes; null when unset. */
function machineIdFromEnv(): Uint8Array | null {
  const text = process.env.XID_MACHINE_ID;
  if (text === undefined || text === '') return null;
  const num = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(num >= 0 && num <= MACHINE_MAX)) {
    throw new TapgateError('TG_ERR_CONFIG', `XID_MACHINE_ID must be a number 0…${MACHINE_MAX}`);
  }
  return Uint8Array.of(num >>> 16, (num >>> 8) & 0xff, num & 0xff);
}

function readMachineId(): Uint8Array {
  const fromEnv = machineIdFromEnv();
  if (fromEnv) return fromEnv;
  let source: Buffer | string | null = null;
  for (const path of PLATFORM_ID_FILES) {
    source = readFileOrNull(path);
    if (source !== null && source.length > 0) break;
  }
  if (source === null || source.length === 0) source = hostname();
  if (source.length === 0) return randomBytes(MACHINE_LEN);
  return createHash('sha256').update(source).digest().subarray(0, MACHINE_LEN);
}

/** rs/xid's pid field, then this thread's id mixed in (see the header comment). */
function pidField(): number {
  let pid = process.pid;
  const cpuset = readFileOrNull(CPUSET_FILE);
  if (cpuset !== null && cpuset.length > 1) pid ^= crc32(cpuset);
  return (pid ^ threadId) & PID_MASK;
}

let defaultGenerator: XidGenerator | null = null;

/** A new id for this machine, process and thread; `nowSec` defaults to the current time. */
export function newXid(nowSec: number = Date.now() / MS_PER_SEC): string {
  defaultGenerator ??= new XidGenerator(
    readMachineId(),
    pidField(),
    randomBytes(COUNTER_LEN).readUIntBE(0, COUNTER_LEN),
  );
  return defaultGenerator.next(nowSec);
}
