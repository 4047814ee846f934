/**
 * Upstream connections: a TCP connect bounded by the dial timeout, opened half-open-capable and
 * without Nagle (the relay forwards what it reads at once).
 */
import { connect, type Socket } from 'node:net';
import { joinHostPort } from '../record/record-builder.ts';

export class DialError extends Error {
  /** `timeout`, or the errno name (`ECONNREFUSED`, `ENOTFOUND`, …). */
  readonly reason: string;
  constructor(message: string, reason: string) {
    super(message);
    this.name = 'DialError';
    this.reason = reason;
  }
}

/** Connects to `host:port`; rejects with a DialError after `timeoutMs` (0 = no limit). */
export function dial(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const socket = connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            settled = true;
            socket.destroy();
            reject(new DialError(`dial ${joinHostPort(host, port)}: i/o timeout`, 'timeout'));
          }, timeoutMs)
        : undefined;
    socket.once('connect', () => {
      settled = true;
      clearTimeout(timer);
      resolve(socket);
    });
    // Stays attached: an error between the connect and the relay must not go unhandled.
    socket.on('error', (e: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new DialError(`dial ${joinHostPort(host, port)}: ${e.message}`, e.code ?? 'error'));
    });
  });
}
