/**
 * The capture metrics against a real run: the values a scrape shows are the job's own totals,
 * promtool accepts tapgate's registry as it is, and the endpoint answers /metrics and /healthz.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runCapture, type CaptureSummary } from '../../src/capture/run-capture.ts';
import { resolveCaptureConfig } from '../../src/config/capture-config.ts';
import { CaptureMetrics } from '../../src/metrics/capture-metrics.ts';
import { parseMetricsAddress } from '../../src/metrics/metrics-address.ts';
import { MetricsServer } from '../../src/metrics/metrics-server.ts';
import { repoRoot } from '../helpers/cli.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-metrics-'));
let summary: CaptureSummary;
let metrics: CaptureMetrics;
let text: string;

before(async () => {
  const config = resolveCaptureConfig({
    input: join(repoRoot, 'assets/demo-protocols.pcap.gz'),
    outDir: join(work, 'pcap'),
    compress: true,
    recordsPath: join(work, 'records.jsonl'),
  });
  summary = await runCapture(config);
  metrics = new CaptureMetrics();
  metrics.update({ ...summary, perWorker: [], kernel: null });
  text = await metrics.registry.metrics();
});
after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The value of `series` (name with labels, as printed) in the scrape. */
function value(series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  assert.ok(line, `no ${series} in the scrape`);
  return Number(line.slice(series.length + 1));
}

test('a scrape shows the job totals', () => {
  const f = summary.flow;
  assert.equal(value('tapgate_packets_received_total{worker="0"}'), f.packets);
  assert.equal(value('tapgate_flows_created_total'), f.flowsCreated);
  assert.equal(value('tapgate_flows_ended_total{reason="closed"}'), f.flowsEnded.closed);
  assert.equal(value('tapgate_cutoff_written_bytes_total'), f.bytesWritten);
  assert.equal(value('tapgate_pcap_files_closed_total'), summary.output!.filesClosed);
  assert.equal(value('tapgate_pcap_disk_bytes_total'), summary.output!.fileBytesWritten);
  for (const [proto, n] of Object.entries(summary.sniff!.records)) {
    assert.equal(value(`tapgate_records_total{proto="${proto}"}`), n);
  }
  assert.ok(value('tapgate_records_total{proto="http"}') > 0);
  // Every flow ended (end of file): the histogram counts them all, cumulatively.
  const ended = Object.values(f.flowsEnded).reduce((a, b) => a + b, 0);
  assert.equal(value('tapgate_flow_size_bytes_count'), ended);
  assert.equal(value('tapgate_flow_size_bytes_bucket{le="+Inf"}'), ended);
  assert.ok(
    value('tapgate_flow_size_bytes_bucket{le="1000"}') <=
      value('tapgate_flow_size_bytes_bucket{le="10000"}'),
  );
  assert.ok(value('tapgate_flow_size_bytes_sum') > 0);
});

test('promtool check metrics accepts the registry', () => {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.equal(r.stdout + r.stderr, '');
  assert.equal(r.status, 0);
  // It would say so: a counter without _total is reported.
  const bad = spawnSync('promtool', ['check', 'metrics'], {
    input: '# HELP x_bytes x\n# TYPE x_bytes counter\nx_bytes 1\n',
    encoding: 'utf8',
  });
  assert.match(bad.stdout + bad.stderr, /_total/);
});

test('the endpoint serves /metrics with process metrics, and /healthz by report age', async () => {
  const fresh = new CaptureMetrics();
  const server = await MetricsServer.start(fresh, parseMetricsAddress('127.0.0.1:0', 'test'));
  try {
    const base = `http://127.0.0.1:${server.port}`;
    let h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 503, 'no report yet');
    fresh.update({ ...summary, perWorker: [], kernel: null });
    h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'ok');
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type') ?? '', /text\/plain/);
    const body = await m.text();
    assert.match(body, /^tapgate_flows_created_total \d+$/m);
    assert.match(body, /^process_cpu_user_seconds_total /m);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await server.close();
  }
});

test('metrics addresses', () => {
  assert.deepEqual(parseMetricsAddress('127.0.0.1:9217', 'x'), { host: '127.0.0.1', port: 9217 });
  assert.deepEqual(parseMetricsAddress('[::1]:9217', 'x'), { host: '::1', port: 9217 });
  assert.deepEqual(parseMetricsAddress(':9217', 'x'), { host: '127.0.0.1', port: 9217 });
  assert.throws(() => parseMetricsAddress('9217', '--metrics'), {
    code: 'TG_ERR_USAGE',
    message: /--metrics/,
  });
  assert.throws(() => parseMetricsAddress('h:70000', '--metrics'), { code: 'TG_ERR_USAGE' });
});
