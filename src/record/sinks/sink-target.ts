/**
 * Where records go once encoded: the contract between the record fan-out (one encoding per record,
 * one bounded queue per sink) and each backend (file, http, tcp, redis).
 *
 * A target only delivers; queueing, dropping, retrying with backoff and spooling belong to the queue
 * in front of it, so every backend behaves the same when its destination is slow or down.
 */

export type SinkKind = 'file' | 'http' | 'tcp' | 'redis';

export interface DeliveryTarget {
  readonly kind: SinkKind;
  /** The recorder's name from the config (`recorders[].name`), used in logs and metrics. */
  readonly name: string;
  /**
   * Delivers records in order; each element is one encoded JSON record without a separator.
   * Resolves once the destination has them; rejects on failure, and the queue then retries the
   * same batch later. Must not keep references to the buffers after it settles.
   */
  deliver(batch: readonly Buffer[]): Promise<void>;
  /** Releases connections and files; pending work is the queue's business. */
  close(): Promise<void>;
}

export interface SinkStats {
  /** Records the target accepted. */
  delivered: number;
  /** Records given up: queue full, or the target failing past the retry budget. */
  dropped: number;
  /** Failed delivery attempts (each retried batch counts once per attempt). */
  errors: number;
  /** Records waiting in the queue now, and their bytes. */
  queued: number;
  queuedBytes: number;
  /** Records written to the on-disk spool while the target was down (when a spool is configured). */
  spooled: number;
}

export interface NamedSinkStats {
  name: string;
  kind: SinkKind;
  stats: SinkStats;
}
