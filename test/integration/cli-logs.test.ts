/**
 * Structured logs and the config's `metrics:` / `log:` keys, through the CLI as a user runs it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseCaptureConfig } from '../../src/config/capture-config-yaml.ts';
import { repoRoot, runCli } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-logs-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});
const demo = join(repoRoot, 'assets/demo.pcap.gz');

interface LogLine {
  level: string;
  time: string;
  event: string;
  msg: string;
  [k: string]: unknown;
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

test('--log-level info: one JSON line per event, files as they are finished', async () => {
  const out = join(work, 'info');
  const r = await runCli([
    'capture',
    '-r',
    demo,
    '-w',
    out,
    '--compress',
    '--log-level',
    'info',
    '-q',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const lines = logLines(r.stderr);
  assert.deepEqual(
    [...new Set(lines.map((l) => l.event))],
    ['capture.start', 'pcap.file', 'capture.stop'],
  );
  for (const l of lines) {
    assert.equal(l.level, 'info');
    assert.ok(!Number.isNaN(Date.parse(l.time)), l.time);
  }
  const files = lines.filter((l) => l.event === 'pcap.file');
  assert.equal(files.length, 3); // the demo capture spans three 60 s intervals
  for (const f of files) assert.match(String(f.path), /\.pcap\.gz$/);
  const stop = lines.at(-1)!;
  assert.equal(stop.packets, 2358);
  assert.equal(stop.pcapFiles, 3);
});

test('the default level logs nothing on a clean run; a bad level is a usage error', async () => {
  const r = await runCli(['capture', '-r', demo, '--no-pcap', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(logLines(r.stderr), []);
  const bad = await runCli(['capture', '-r', demo, '--no-pcap', '--log-level', 'loud']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--log-level: unknown log level "loud"/);
});

test('YAML metrics.addr and log.level, checked with line numbers', async () => {
  assert.deepEqual(
    parseCaptureConfig('metrics:\n  addr: 127.0.0.1:9217\nlog:\n  level: info\n', 'x.yaml'),
    { metricsAddr: '127.0.0.1:9217', logLevel: 'info' },
  );
  assert.throws(() => parseCaptureConfig('log:\n  level: chatty\n', 'x.yaml'), {
    code: 'TG_ERR_CONFIG',
    message: /x\.yaml:2: log\.level: expected one of/,
  });
  assert.throws(() => parseCaptureConfig('metrics:\n  adr: x\n', 'x.yaml'), {
    message: /x\.yaml:2: metrics\.adr: unknown key/,
  });
  // From a config file, the log level applies to the run.
  const cfg = join(work, 'tapgate.yaml');
  writeFileSync(cfg, `log:\n  level: info\ncapture:\n  read: ${demo}\n`);
  const r = await runCli(['capture', '-c', cfg, '--no-pcap', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    logLines(r.stderr).map((l) => l.event),
    ['capture.start', 'capture.stop'],
  );
});
