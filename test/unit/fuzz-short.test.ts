/**
 * The CI slice of the fuzz harness (test/fuzz/): every target, a fixed seed, 1,000–2,000 inputs
 * each. A crash fails the test with its stack; the input is not written (run test/fuzz/run.ts with
 * the same seed to get the file).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { execPerSec, fuzzTarget } from '../fuzz/engine.ts';
import { loadSeeds } from '../fuzz/seeds.ts';
import { targets } from '../fuzz/targets/index.ts';

const SEED = 20261122;
/** Inputs per target beyond its seeds (the whole run stays well under a minute on 2 cores). */
const ITERATIONS: Record<string, number> = { pcap: 1000, decode: 1000, websocket: 1000 };
const DEFAULT_ITERATIONS = 2000;
/** Per-target wall-clock cap, so a slow machine shortens the run instead of timing out. */
const TIME_SEC = 4;

describe('fuzz (short, seeded)', () => {
  for (const target of targets) {
    test(target.name, async () => {
      const seeds = target.seeds(await loadSeeds());
      assert.ok(seeds.length > 0, 'no seeds');
      const stats = await fuzzTarget(target, seeds, {
        iterations: ITERATIONS[target.name] ?? DEFAULT_ITERATIONS,
        seed: SEED,
        timeSec: TIME_SEC,
        crashDir: null,
      });
      const crashes = stats.uniqueCrashes.map((c) => `${c.kind}: ${c.stack}`).join('\n\n');
      assert.equal(stats.crashes, 0, crashes);
      assert.ok(stats.inputs >= seeds.length);
      console.log(
        `# ${target.name}: ${stats.inputs} inputs, ${execPerSec(stats).toFixed(0)}/s, ` +
          `max ${stats.maxMs.toFixed(1)} ms, heap ${stats.peakHeapMB.toFixed(0)} MB`,
      );
    });
  }
});
