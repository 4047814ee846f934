/**
 * pcapng timestamps: a 64-bit count of `if_tsresol` units since 1970 (pcapng spec §4.6, EPB
 * "Timestamp (High)/(Low)"; §4.2 if_tsresol, if_tsoffset), turned into seconds + nanoseconds.
 *
 * The count does not fit a double once it exceeds 2^53 (nanosecond counts do today), and a BigInt
 * per packet is too slow, so the count stays as its two 32-bit words and is divided in two steps of
 * 16 bits (schoolbook long division, base 2^16):
 *
 *   a = hi·2^16 + lo>>>16         (< 2^48)      qa = ⌊a/U⌋, ra = a − qa·U
 *   b = ra·2^16 + (lo & 0xffff)   (< U·2^16)    qb = ⌊b/U⌋, rb = b − qb·U
 *   seconds = qa·2^16 + qb, remainder = rb units
 *
 * Every intermediate is an integer below 2^53 when U ≤ 2^37, and ⌊x/U⌋ of a double x < 2^53 is exact
 * (the rounding error of x/U is below 1/U, the distance to the next integer). The remainder becomes
 * nanoseconds exactly for 10^-n (n ≤ 9: multiply; n = 10, 11: divide, truncating like Wireshark) and
 * for 2^-n with n ≤ 23 (rb·10^9 < 2^53, then an exact division by 2^n). Anything else (finer than
 * 10^-11 or 2^-23, or coarser than 1 s) takes a BigInt path: correct, slower, and never seen in
 * practice.
 */
import type { FrameView, TsPrecision } from './frame.ts';

const Kind = { MulPow10: 0, DivPow10: 1, Pow2: 2, BigInt: 3 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

const MAX_SPLIT_UNITS = 2 ** 37;

export class TsConverter {
  readonly #kind: Kind;
  /** Units per second. */
  readonly #units: number;
  /** MulPow10: ns per unit; DivPow10: units per ns; Pow2: 2^n. */
  readonly #factor: number;
  /** if_tsoffset, seconds added to every timestamp. */
  readonly #offsetSec: number;
  readonly #bigUnits: bigint;
  /** 'ns' when a unit is finer than a microsecond. */
  readonly precision: TsPrecision;

  /**
   * @param tsresol the if_tsresol option byte (default 6: microseconds). MSB clear: 10^-value
   *   seconds; MSB set: 2^-(value & 0x7f) seconds.
   * @param offsetSec the if_tsoffset option (seconds), 0 when absent.
   */
  constructor(tsresol = 6, offsetSec = 0) {
    const pow2 = (tsresol & 0x80) !== 0;
    const exp = tsresol & 0x7f;
    const units = pow2 ? 2 ** exp : 10 ** exp;
    this.#units = units;
    this.#offsetSec = offsetSec;
    this.#bigUnits = pow2 ? 1n << BigInt(exp) : 10n ** BigInt(exp);
    this.precision = units > 1e6 ? 'ns' : 'us';
    if (!pow2 && exp <= 9) {
      this.#kind = Kind.MulPow10;
      this.#factor = 10 ** (9 - exp);
    } else if (!pow2 && units <= MAX_SPLIT_UNITS) {
      this.#kind = Kind.DivPow10;
      this.#factor = 10 ** (exp - 9);
    } else if (pow2 && exp <= 23) {
      this.#kind = Kind.Pow2;
      this.#factor = units;
    } else {
      this.#kind = Kind.BigInt;
      this.#factor = 0;
    }
  }

  /** Sets `frame.tsSec` / `frame.tsNsec` from the timestamp words `hi`, `lo` (unsigned 32-bit). */
  apply(hi: number, lo: number, frame: FrameView): void {
    const kind = this.#kind;
    if (kind === Kind.BigInt) {
      this.#applyBig(hi, lo, frame);
      return;
    }
    const u = this.#units;
    const a = hi * 65536 + (lo >>> 16);
    const qa = Math.floor(a / u);
    const b = (a - qa * u) * 65536 + (lo & 0xffff);
    const qb = Math.floor(b / u);
    const rem = b - qb * u;
    frame.tsSec = qa * 65536 + qb + this.#offsetSec;
    if (kind === Kind.MulPow10) frame.tsNsec = rem * this.#factor;
    else if (kind === Kind.DivPow10) frame.tsNsec = Math.floor(rem / this.#factor);
    else frame.tsNsec = Math.floor((rem * 1e9) / this.#factor);
  }

  #applyBig(hi: number, lo: number, frame: FrameView): void {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    const u = this.#bigUnits;
    frame.tsSec = Number(t / u) + this.#offsetSec;
    frame.tsNsec = Number(((t % u) * 1_000_000_000n) / u);
  }
}
