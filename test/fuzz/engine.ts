/**
 * The fuzz loop: seeds first, then mutations of seeds and of earlier inputs (seeded PRNG, so a run
 * repeats exactly), each input run against the invariants. A crash is an escaped exception other
 * than a documented TapgateError, a broken invariant, an input over the time bound (a hang), or
 * the heap past its bound; each distinct one is saved as `crashes/<target>-<hash>.bin` with its
 * stack in `.txt`.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Prng } from './prng.ts';
import { isAllowedError, type Target } from './target.ts';

export const CRASH_DIR = join(import.meta.dirname, 'crashes');
/** An input running longer than this is a hang. */
export const HANG_MS = 2000;
/** Heap in use past this (sampled) is a memory failure. */
export const HEAP_LIMIT_MB = 1536;
/** Largest mutant run (bigger ones are replaced by a seed). */
export const MAX_MUTANT_BYTES = 2 << 20;

export interface FuzzOptions {
  iterations: number;
  seed: number;
  /** Stop after this many seconds even if iterations remain. */
  timeSec?: number;
  /** Where crashes are written; null: not written (tests). */
  crashDir?: string | null;
  /** Called before each input runs (the runner's watchdog copies it) and after. */
  beforeRun?: (input: Buffer) => void;
  afterRun?: () => void;
  /** Called every ~second with the stats so far. */
  onProgress?: (stats: FuzzStats) => void;
}

export interface Crash {
  target: string;
  kind: 'exception' | 'hang' | 'memory';
  message: string;
  stack: string;
  input: Buffer;
  file: string | null;
}

export interface FuzzStats {
  target: string;
  inputs: number;
  seeds: number;
  /** Inputs that ended in a documented TapgateError (fine, counted for information). */
  rejected: number;
  crashes: number;
  uniqueCrashes: Crash[];
  maxMs: number;
  peakHeapMB: number;
  elapsedSec: number;
}

export function execPerSec(s: FuzzStats): number {
  return s.elapsedSec > 0 ? s.inputs / s.elapsedSec : 0;
}

function signature(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const frames = (e.stack ?? '')
    .split('\n')
    .filter((l) => l.trim().startsWith('at '))
    .slice(0, 3);
  return `${e.name}|${frames.join('|')}`;
}

export function crashFileName(target: string, input: Buffer): string {
  return `${target}-${createHash('sha256').update(input).digest('hex').slice(0, 16)}.bin`;
}

export function saveCrash(dir: string, crash: Omit<Crash, 'file'>): string {
  mkdirSync(dir, { recursive: true });
  const name = crashFileName(crash.target, crash.input);
  writeFileSync(join(dir, name), crash.input);
  writeFileSync(
    join(dir, name.replace(/\.bin$/, '.txt')),
    `target: ${crash.target}\nkind: ${crash.kind}\n\n${crash.stack}\n`,
  );
  return name;
}

/** Runs one input; resolves with the error it raised (null when fine or documented). */
export async function runOne(
  target: Target,
  input: Buffer,
): Promise<{ error: unknown; rejected: boolean; ms: number }> {
  const t0 = performance.now();
  try {
    const r = target.run(input);
    if (r) await r;
    return { error: null, rejected: false, ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    if (isAllowedError(target, e)) return { error: null, rejected: true, ms };
    return { error: e ?? new Error('thrown undefined'), rejected: false, ms };
  }
}

export async function fuzzTarget(
  target: Target,
  seeds: readonly Buffer[],
  opts: FuzzOptions,
): Promise<FuzzStats> {
  const rng = new Prng(opts.seed);
  const crashDir = opts.crashDir === undefined ? CRASH_DIR : opts.crashDir;
  const stats: FuzzStats = {
    target: target.name,
    inputs: 0,
    seeds: seeds.length,
    rejected: 0,
    crashes: 0,
    uniqueCrashes: [],
    maxMs: 0,
    peakHeapMB: 0,
    elapsedSec: 0,
  };
  const seen = new Set<string>();
  const start = performance.now();
  const deadline = opts.timeSec === undefined ? Infinity : start + opts.timeSec * 1000;
  let lastProgress = start;
  /** Recent mutants, mutated again (deeper stacks of mutations than one step from a seed). */
  const pool: Buffer[] = [];
  const pool0 = seeds.length > 0 ? seeds : [Buffer.alloc(0)];

  const record = (kind: Crash['kind'], e: unknown, input: Buffer): void => {
    stats.crashes++;
    const sig = kind === 'exception' ? signature(e) : kind;
    if (seen.has(sig)) return;
    seen.add(sig);
    const err = e instanceof Error ? e : new Error(String(e));
    const crash = {
      target: target.name,
      kind,
      message: err.message,
      stack: err.stack ?? err.message,
      input,
    };
    const file = crashDir ? saveCrash(crashDir, crash) : null;
    stats.uniqueCrashes.push({ ...crash, file });
  };

  const total = seeds.length + opts.iterations;
  for (let n = 0; n < total; n++) {
    let input: Buffer;
    if (n < seeds.length) input = seeds[n]!;
    else {
      const base = pool.length > 0 && rng.chance(0.3) ? rng.pick(pool) : rng.pick(pool0);
      input = target.mutate(rng, base, rng.pick(pool0));
      // Mutants that grew past the bound start over from a seed (time and memory per input).
      if (input.length > MAX_MUTANT_BYTES) input = rng.pick(pool0);
      if (rng.chance(0.1)) {
        if (pool.length < 256) pool.push(input);
        else pool[rng.int(pool.length)] = input;
      }
    }
    opts.beforeRun?.(input);
    const { error, rejected, ms } = await runOne(target, input);
    opts.afterRun?.();
    stats.inputs++;
    if (rejected) stats.rejected++;
    if (ms > stats.maxMs) stats.maxMs = ms;
    if (error !== null) record('exception', error, input);
    else if (ms > HANG_MS)
      record('hang', new Error(`input took ${ms.toFixed(0)} ms (bound ${HANG_MS} ms)`), input);
    if ((n & 63) === 0) {
      const heap = process.memoryUsage().heapUsed / 2 ** 20;
      if (heap > stats.peakHeapMB) stats.peakHeapMB = heap;
      if (heap > HEAP_LIMIT_MB) record('memory', new Error(`heap ${heap.toFixed(0)} MB`), input);
      const now = performance.now();
      if (now > deadline) break;
      if (opts.onProgress && now - lastProgress > 1000) {
        lastProgress = now;
        stats.elapsedSec = (now - start) / 1000;
        opts.onProgress(stats);
      }
    }
  }
  stats.elapsedSec = (performance.now() - start) / 1000;
  return stats;
}
