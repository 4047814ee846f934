/**
 * Issue 7, SIGKILL mid-capture: the records written before the kill stay intact JSON lines, and
 * the next run appending to the same file cuts off the half line the kill may have left, so the
 * file holds only whole records.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, runCli } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-sigkill-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n');
}

test('killed mid-run: whole lines survive, the next run repairs the tail and appends', async () => {
  // 150 copies of the protocol capture back to back: a run of a few seconds with records all along.
  const one = join(work, 'one.pcap');
  execFileSync('sh', [
    '-c',
    'gzip -dc "$0" > "$1"',
    join(repoRoot, 'assets/demo-protocols.pcap.gz'),
    one,
  ]);
  const many = join(work, 'many.pcap');
  execFileSync('mergecap', ['-a', '-F', 'pcap', '-w', many, ...Array<string>(150).fill(one)]);
  const records = join(work, 'records.jsonl');

  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'src/cli.ts'),
      'capture',
      '-r',
      many,
      '--no-pcap',
      '--records',
      records,
    ],
    { stdio: 'ignore' },
  );
  // Kill once records are being written, well before the end.
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 25));
    const size = (() => {
      try {
        return readFileSync(records).length;
      } catch {
        return 0;
      }
    })();
    if (size > 1 << 20) break;
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.on('close', r));

  const killed = lines(records);
  const whole = killed.slice(0, -1); // the last element is '' or a torn line
  assert.ok(whole.length > 1000, `${whole.length} records before the kill`);
  for (const l of whole) JSON.parse(l); // every complete line is a record
  // Make sure the file ends torn, as a kill inside write() leaves it.
  if (killed.at(-1) === '') appendFileSync(records, '{"service":"torn');

  const r = await runCli(['capture', '-r', one, '--no-pcap', '--records', records, '-q']);
  assert.equal(r.code, 0, r.stderr);
  const after = lines(records);
  assert.equal(after.at(-1), '', 'ends with a newline');
  const parsed = after.slice(0, -1).map((l) => JSON.parse(l) as { proto?: string });
  assert.equal(parsed.length, whole.length + 214, 'the old whole lines plus one run of records');
});
