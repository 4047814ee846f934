/**
 * Log levels (pino's names) for `--log-level` and the config's `log.level`, apart from the logger
 * so that reading a config never loads pino.
 */
import { TapgateError } from '../errors.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function parseLogLevel(text: string, where: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === text.toLowerCase());
  if (level === undefined) {
    throw new TapgateError(
      'TG_ERR_USAGE',
      `${where}: unknown log level "${text}" (expected one of: ${LOG_LEVELS.join(', ')})`,
    );
  }
  return level;
}
