/**
 * Structured logs: one JSON line per event on stderr, so journald (or any collector) keeps them
 * while stdout stays free for `--records -` and `--json` summaries. Every line carries `event`, a
 * stable dotted name to filter on (`capture.start`, `pcap.file`, `capture.stats`, …), next to
 * pino's `level`, `time` and `msg`.
 *
 * The pipeline itself never logs: it reports through hooks and counters, and the command decides
 * what becomes a line. pino is loaded on the first line written (~20 ms of start-up that a run
 * with nothing to log at its level never pays).
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import { LOG_LEVELS, type LogLevel } from '../config/log-level.ts';

type Pino = typeof import('pino');
type Fields = Record<string, unknown>;

/** Index in LOG_LEVELS: lower is more severe ('silent' last). */
function rank(level: LogLevel): number {
  return LOG_LEVELS.indexOf(level);
}

export class EventLog {
  readonly #level: LogLevel;
  readonly #fd: number;
  #logger: Logger | null = null;

  /** Lines go to `fd` (stderr by default), written synchronously: nothing is lost at exit. */
  constructor(level: LogLevel, fd = 2) {
    this.#level = level;
    this.#fd = fd;
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return this.#level !== 'silent' && rank(level) <= rank(this.#level);
  }

  info(event: string, fields: Fields, msg: string): void {
    if (this.enabled('info')) this.#pino().info({ event, ...fields }, msg);
  }

  warn(event: string, fields: Fields, msg: string): void {
    if (this.enabled('warn')) this.#pino().warn({ event, ...fields }, msg);
  }

  error(event: string, fields: Fields, msg: string): void {
    if (this.enabled('error')) this.#pino().error({ event, ...fields }, msg);
  }

  #pino(): Logger {
    if (this.#logger === null) {
      const { pino } = createRequire(import.meta.url)('pino') as Pino;
      this.#logger = pino(
        {
          level: this.#level,
          base: { app: 'tapgate', pid: process.pid },
          timestamp: pino.stdTimeFunctions.isoTime,
          // Level names read better in journalctl than pino's numbers.
          formatters: { level: (label) => ({ level: label }) },
        },
        pino.destination({ fd: this.#fd, sync: true }),
      );
    }
    return this.#logger;
  }
}
