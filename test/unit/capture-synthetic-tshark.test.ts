/**
 * Keeps the synthetic builders honest: tshark must see in every synthetic file exactly the frames,
 * times and lengths our reader sees (both implement the same specs independently).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  epoch,
  haveTshark,
  readAll,
  syntheticCaptures,
  tempDir,
  tsharkFrames,
  writeTemp,
} from '../helpers/capture-builders.ts';

test('synthetic captures read the same in tapgate and tshark', { skip: !haveTshark }, async () => {
  const dir = tempDir();
  for (const [name, bytes] of Object.entries(syntheticCaptures())) {
    const path = writeTemp(dir, name, bytes);
    const ours = await readAll(path);
    // An SPB has no timestamp: tshark prints none, we report 0.
    const theirs = tsharkFrames(path).map((t) =>
      t.epoch === '' ? { ...t, epoch: '0.000000000' } : t,
    );
    assert.deepEqual(
      ours.frames.map((f) => ({ epoch: epoch(f), capLen: f.capLen, len: f.origLen })),
      theirs,
      name,
    );
    assert.deepEqual(ours.stats.errors, {}, name);
  }
});
