/**
 * Starts a worker thread from one of our modules. Built code (dist/*.js) loads directly; the
 * TypeScript sources (tests and `tsx` runs) need tsx's loader registered inside the worker first,
 * because Node 20 does not pass `--import tsx` on to worker threads.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(moduleUrl: URL, options: WorkerOptions): Worker {
  if (!moduleUrl.pathname.endsWith('.ts')) return new Worker(moduleUrl, options);
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl.href)}); })`;
  return new Worker(bootstrap, { ...options, eval: true });
}

/** `./name.js` next to the calling module, or `./name.ts` when the caller runs from sources. */
export function siblingModule(callerUrl: string, name: string): URL {
  const ext = callerUrl.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./${name}${ext}`, callerUrl);
}
