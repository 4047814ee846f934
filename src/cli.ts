#!/usr/bin/env node
/**
 * tapgate command line. Exit codes: 0 done, 2 bad usage / config / input (one clear line on
 * stderr, no stack trace), 1 an unexpected internal error.
 */
import { captureCommand, captureUsage } from './cli/capture-command.ts';
import { isTapgateError } from './errors.ts';
import { version } from './version.ts';

const usage = `tapgate ${version} — transparent capture gateway

Usage: tapgate <command> [options]

Commands
  capture    read a capture, track flows, apply the cutoff, write rotated pcaps
  gateway    run HTTP/SOCKS5/forward/transparent/SNI proxy services, record what passes
  help       show this text, or a command's: tapgate help capture

${captureUsage}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'capture':
      return captureCommand(rest);
    case 'gateway':
      // Loaded only when used: capture start-up does not pay for the gateway's modules.
      return (await import('./gateway/gateway-command.ts')).gatewayCommand(rest);
    case '--version':
    case '-V':
      process.stdout.write(`${version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      if (rest[0] === 'gateway') {
        process.stdout.write((await import('./gateway/gateway-command.ts')).gatewayUsage + '\n');
        return 0;
      }
      process.stdout.write((rest[0] === 'capture' ? captureUsage : usage) + '\n');
      return 0;
    default:
      process.stderr.write(`tapgate: unknown command "${command}" (try tapgate help)\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isTapgateError(e)) {
      process.stderr.write(`tapgate: ${e.message}\n`);
      process.exitCode = 2;
    } else if (e instanceof Error && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`tapgate: ${e.message} (see tapgate help)\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(
        `tapgate: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exitCode = 1;
    }
  },
);
