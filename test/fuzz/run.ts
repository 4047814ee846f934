/**
 * The fuzz runner:
 *
 *   node --import tsx test/fuzz/run.ts --target NAME|all --iterations N --seed S [--time SEC]
 *
 * Each target runs in a worker thread watched by this thread: an input that makes no progress for
 * the hang bound (+1 s) gets the worker terminated, the input saved as a hang, and the target
 * restarted (next seed) for the iterations left. Prints per-target counts; crashes are written to
 * test/fuzz/crashes/<target>-<hash>.bin (+ .txt with the stack).
 */
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import {
  CRASH_DIR,
  execPerSec,
  fuzzTarget,
  HANG_MS,
  MAX_MUTANT_BYTES,
  saveCrash,
  type FuzzStats,
} from './engine.ts';
import { loadSeeds } from './seeds.ts';
import { targetByName, targets } from './targets/index.ts';

/** Largest input the watchdog keeps a copy of (the engine runs nothing bigger). */
const WATCH_BYTES = MAX_MUTANT_BYTES;
/** Shared control words: [inputs started, input length, 1 while an input runs]. */
const CTL_WORDS = 3;
const CTL_BYTES = 4 * CTL_WORDS;

interface Job {
  target: string;
  iterations: number;
  seed: number;
  timeSec?: number;
  shared: SharedArrayBuffer;
}

type Report = { type: 'done'; stats: FuzzStats } | { type: 'progress'; stats: FuzzStats };

async function workerMain(job: Job): Promise<void> {
  const target = targetByName(job.target)!;
  const seeds = target.seeds(await loadSeeds());
  const ctl = new Int32Array(job.shared, 0, CTL_WORDS);
  const bytes = new Uint8Array(job.shared, CTL_BYTES);
  const stats = await fuzzTarget(target, seeds, {
    iterations: job.iterations,
    seed: job.seed,
    ...(job.timeSec === undefined ? {} : { timeSec: job.timeSec }),
    beforeRun: (input) => {
      const n = Math.min(input.length, WATCH_BYTES);
      bytes.set(input.subarray(0, n));
      Atomics.store(ctl, 1, n);
      Atomics.add(ctl, 0, 1);
      Atomics.store(ctl, 2, 1);
    },
    afterRun: () => {
      Atomics.store(ctl, 2, 0);
    },
    onProgress: (s) => {
      parentPort!.postMessage({ type: 'progress', stats: strip(s) } satisfies Report);
    },
  });
  parentPort!.postMessage({ type: 'done', stats: strip(stats) } satisfies Report);
}

/** Crash inputs stay in the worker (already saved); the report carries their file names. */
function strip(s: FuzzStats): FuzzStats {
  return { ...s, uniqueCrashes: s.uniqueCrashes.map((c) => ({ ...c, input: Buffer.alloc(0) })) };
}

function runWorker(
  job: Omit<Job, 'shared'>,
): Promise<{ stats: FuzzStats | null; hang: boolean; last: FuzzStats | null }> {
  const shared = new SharedArrayBuffer(CTL_BYTES + WATCH_BYTES);
  const ctl = new Int32Array(shared, 0, CTL_WORDS);
  // Node 20 does not apply --import loaders to a worker's main module: register tsx first.
  const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(import.meta.url)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { ...job, shared } });
  let last: FuzzStats | null = null;
  return new Promise((resolve, reject) => {
    let seq = -1;
    let since = Date.now();
    const timer = setInterval(() => {
      const now = Atomics.load(ctl, 0);
      // Only time spent running an input counts (not mutating or loading seeds).
      if (now !== seq || Atomics.load(ctl, 2) === 0) {
        seq = now;
        since = Date.now();
        return;
      }
      if (seq > 0 && Date.now() - since > HANG_MS + 1000) {
        clearInterval(timer);
        const len = Atomics.load(ctl, 1);
        const input = Buffer.from(new Uint8Array(shared, CTL_BYTES, len));
        const file = saveCrash(CRASH_DIR, {
          target: job.target,
          kind: 'hang',
          message: 'no progress',
          stack: `Hang: no progress for ${Date.now() - since} ms; worker terminated (input ${len} bytes)`,
          input,
        });
        console.log(`${job.target}: HANG, saved ${file}`);
        void worker.terminate().then(() => {
          resolve({ stats: null, hang: true, last });
        });
      }
    }, 250);
    worker.on('message', (m: Report) => {
      if (m.type === 'progress') last = m.stats;
      else {
        clearInterval(timer);
        resolve({ stats: m.stats, hang: false, last });
      }
    });
    worker.on('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
  });
}

function row(cells: (string | number)[]): string {
  const widths = [12, 10, 10, 9, 10, 11, 9];
  return cells.map((c, i) => String(c).padStart(widths[i] ?? 10)).join(' ');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string', default: 'all' },
      iterations: { type: 'string', default: '10000' },
      seed: { type: 'string', default: '1' },
      time: { type: 'string' },
      list: { type: 'boolean', default: false },
    },
  });
  if (values.list) {
    for (const t of targets) console.log(`${t.name.padEnd(12)} ${t.about}`);
    return;
  }
  const names = values.target === 'all' ? targets.map((t) => t.name) : values.target.split(',');
  for (const n of names) if (!targetByName(n)) throw new Error(`unknown target ${n} (--list)`);
  const iterations = Number(values.iterations);
  const seed = Number(values.seed);
  const timeSec = values.time === undefined ? undefined : Number(values.time);
  console.log(row(['target', 'inputs', 'exec/s', 'crashes', 'unique', 'max ms', 'heap MB']));
  let failed = false;
  for (const name of names) {
    let left = iterations;
    let runSeed = seed;
    const total = { inputs: 0, crashes: 0, unique: [] as string[], maxMs: 0, heap: 0, sec: 0 };
    const t0 = Date.now();
    for (;;) {
      const budget =
        timeSec === undefined ? undefined : Math.max(1, timeSec - (Date.now() - t0) / 1000);
      const r = await runWorker({
        target: name,
        iterations: left,
        seed: runSeed,
        ...(budget === undefined ? {} : { timeSec: budget }),
      });
      const s = r.stats ?? r.last;
      if (s) {
        total.inputs += s.inputs;
        total.crashes += s.crashes;
        total.unique.push(
          ...s.uniqueCrashes.map((c) => `${c.file ?? '?'} ${c.kind}: ${c.message.slice(0, 120)}`),
        );
        total.maxMs = Math.max(total.maxMs, s.maxMs);
        total.heap = Math.max(total.heap, s.peakHeapMB);
      }
      if (!r.hang) break;
      total.crashes++;
      total.unique.push('hang (see crashes/)');
      left = Math.max(0, left - (s?.inputs ?? 0));
      runSeed += 7919;
      if (left === 0 || (timeSec !== undefined && Date.now() - t0 > timeSec * 1000)) break;
    }
    total.sec = (Date.now() - t0) / 1000;
    const rate = execPerSec({ inputs: total.inputs, elapsedSec: total.sec } as FuzzStats);
    console.log(
      row([
        name,
        total.inputs,
        rate.toFixed(0),
        total.crashes,
        total.unique.length,
        total.maxMs.toFixed(1),
        total.heap.toFixed(0),
      ]),
    );
    for (const u of total.unique) console.log(`    ${u}`);
    if (total.crashes > 0) failed = true;
  }
  process.exitCode = failed ? 1 : 0;
}

if (isMainThread) await main();
else await workerMain(workerData as Job);
