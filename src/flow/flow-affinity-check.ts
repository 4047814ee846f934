/**
 * Checks the fanout's promise that both directions of a flow reach the same worker.
 *
 * Every worker records each flow it creates in a table shared by all workers (one SharedArrayBuffer):
 * slot = low bits of the flow's key hash, value = high 24 bits of the hash | worker id + 1. When a
 * worker creates a flow whose slot already holds the same hash tag from another worker, two workers
 * own the same flow: a violation, counted. Slots are overwritten freely (newest flow wins), so the
 * table has a fixed size; a false alarm needs two live flows with equal slot and tag (2^-24 per
 * collision), a missed violation needs the slot overwritten between the two creations.
 *
 * Flows are created once per worker, so the cost is one Atomics.exchange per new flow.
 */
const SLOT_BITS = 16;
const TAG_MASK = 0xffffff00;

export class FlowAffinityCheck {
  readonly #table: Int32Array;
  readonly #mark: number;
  readonly #mask: number;
  /** Flows this worker created that another worker had created too. */
  violations = 0;

  /** `shared` comes from `FlowAffinityCheck.createShared()`; `worker` is 0..254. */
  constructor(shared: SharedArrayBuffer, worker: number) {
    if (!Number.isInteger(worker) || worker < 0 || worker > 254) {
      throw new RangeError(`worker id ${String(worker)} out of 0..254`);
    }
    this.#table = new Int32Array(shared);
    this.#mask = this.#table.length - 1;
    this.#mark = worker + 1;
  }

  static createShared(): SharedArrayBuffer {
    return new SharedArrayBuffer(4 << SLOT_BITS);
  }

  /** Records a flow this worker just created. */
  flowCreated(keyHash: number): void {
    const value = (keyHash & TAG_MASK) | this.#mark | 0;
    const old = Atomics.exchange(this.#table, keyHash & this.#mask, value);
    if (old !== 0 && old !== value && ((old ^ value) & TAG_MASK) === 0) this.violations++;
  }
}
