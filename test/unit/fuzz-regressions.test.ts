/**
 * Replays every crash the fuzzer saved (test/fuzz/crashes/<target>-<hash>.bin) against its
 * target: no escaped exception (other than the target's documented TapgateError), within the hang
 * bound. Files listed in crashes/known-open.txt are reported as todo until fixed.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CRASH_DIR, HANG_MS, runOne } from '../fuzz/engine.ts';
import { targetByName } from '../fuzz/targets/index.ts';

const files = readdirSync(CRASH_DIR)
  .filter((f) => f.endsWith('.bin'))
  .sort();

const knownFile = join(CRASH_DIR, 'known-open.txt');
const knownOpen = new Set(
  existsSync(knownFile)
    ? readFileSync(knownFile, 'utf8')
        .split('\n')
        .map((l) => l.replace(/#.*/, '').trim())
        .filter((l) => l !== '')
    : [],
);

describe('fuzz regressions', () => {
  test('the crash directory is there (README kept when empty)', () => {
    assert.ok(existsSync(join(CRASH_DIR, 'README.md')));
  });

  for (const file of files) {
    const name = file.slice(0, file.lastIndexOf('-'));
    const todo = knownOpen.has(file) ? 'known open crash (crashes/known-open.txt)' : undefined;
    test(file, { todo }, async () => {
      const target = targetByName(name);
      assert.ok(target, `no fuzz target named ${name}`);
      const { error, ms } = await runOne(target, readFileSync(join(CRASH_DIR, file)));
      if (error instanceof Error) throw error;
      assert.equal(error, null, 'a non-Error was thrown');
      assert.ok(ms <= HANG_MS, `took ${ms.toFixed(0)} ms`);
    });
  }
});
