/**
 * The byte pipe between a client and its upstream, both directions at once:
 *
 *   client ──data──► tap(Client) ──write──► upstream      (pause the reader while the writer's
 *   client ◄─write── tap(Server) ◄──data── upstream       buffer is full; resume on 'drain')
 *
 * - Backpressure: a direction's reader is paused while its writer reports a full buffer.
 * - Half-close: a side's FIN is passed on (`end()`), and the other direction keeps flowing until it
 *   ends too (both sockets are opened with allowHalfOpen).
 * - Idle timeout: no byte in either direction for `idleTimeoutMs` (every byte crosses the client
 *   socket, so its inactivity timer sees both) closes both; 0 disables it.
 * - An error or reset on either side destroys both; the first error is reported. A side closed
 *   without its FIN (destroyed, e.g. at shutdown) closes the other one too.
 * Resolves once both sockets are closed.
 */
import type { Socket } from 'node:net';

export interface RelayOptions {
  idleTimeoutMs: number;
  /** Client bytes read before the relay started (a peek, bytes after a CONNECT head). */
  clientPrefix?: Buffer;
  /** Each chunk read from the client (before it is written upstream), prefix included. */
  onClientData?(chunk: Buffer): void;
  /** Each chunk read from upstream (before it is written to the client). */
  onUpstreamData?(chunk: Buffer): void;
  /** The client (`client`) or the upstream (`upstream`) sent its FIN. */
  onEnd?(from: 'client' | 'upstream'): void;
}

export interface RelayResult {
  /** '' after a clean close; else why the relay stopped (`idle timeout`, a socket error). */
  err: string;
}

export function relay(client: Socket, upstream: Socket, opts: RelayOptions): Promise<RelayResult> {
  return new Promise((resolve) => {
    let err = '';
    let open = 2;
    const fail = (why: string): void => {
      if (err === '') err = why;
      client.destroy();
      upstream.destroy();
    };
    const closed = (): void => {
      if (--open === 0) {
        client.setTimeout(0);
        resolve({ err });
      }
    };
    const pipe = (
      from: Socket,
      to: Socket,
      tap: ((chunk: Buffer) => void) | undefined,
      name: 'client' | 'upstream',
    ): void => {
      const onDrain = (): void => {
        from.resume();
      };
      to.on('drain', onDrain);
      from.on('data', (chunk: Buffer) => {
        tap?.(chunk);
        if (!to.write(chunk)) from.pause();
      });
      const onEnd = (): void => {
        opts.onEnd?.(name);
        if (!to.destroyed) to.end();
      };
      if (from.readableEnded) queueMicrotask(onEnd);
      else from.once('end', onEnd);
      from.on('error', (e: Error) => {
        fail(`${name}: ${e.message}`);
      });
      // A side that closes without its FIN was cut (reset, destroyed): nothing more can cross,
      // so the other side is closed too. After a FIN the other side finishes on its own.
      const onClose = (): void => {
        if (!from.readableEnded && !to.destroyed) to.destroy();
        closed();
      };
      if (from.closed) queueMicrotask(onClose);
      else from.once('close', onClose);
    };
    if (opts.clientPrefix !== undefined && opts.clientPrefix.length > 0) {
      opts.onClientData?.(opts.clientPrefix);
      upstream.write(opts.clientPrefix);
    }
    pipe(client, upstream, (chunk) => opts.onClientData?.(chunk), 'client');
    pipe(upstream, client, (chunk) => opts.onUpstreamData?.(chunk), 'upstream');
    if (opts.idleTimeoutMs > 0) {
      client.setTimeout(opts.idleTimeoutMs, () => {
        fail('idle timeout');
      });
    }
    client.resume();
    upstream.resume();
  });
}
