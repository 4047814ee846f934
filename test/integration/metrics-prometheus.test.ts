/**
 * The Grafana dashboard against real data: a live capture on a test-made veth pair serves
 * `--metrics`, a real Prometheus scrapes it every second while real protocol traffic is replayed,
 * and every panel query of grafana/tapgate.json is evaluated through Prometheus' HTTP API.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, startCli, type RunningCli } from '../helpers/cli.ts';
import { canUseNetns, createVethPair, replay, type VethPair } from '../helpers/netns.ts';

interface Dashboard {
  uid: string;
  schemaVersion: number;
  templating: { list: { name: string; type: string; query: string }[] };
  panels: {
    id: number;
    type: string;
    title: string;
    datasource?: { type: string; uid: string };
    targets?: { expr: string; datasource: { uid: string } }[];
  }[];
}

const dashboard = JSON.parse(
  readFileSync(join(repoRoot, 'grafana/tapgate.json'), 'utf8'),
) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');

/**
 * Panels with no data in this test, by design: no gateway service runs here. Their queries must
 * still be valid and name only metrics tapgate exports.
 */
const NO_DATA_EXPECTED = /^(Gateway |MITM )/;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function metricNames(expr: string): string[] {
  return [...new Set(expr.match(/\b(?:tapgate|process)_[a-z_]+/g) ?? [])].map((n) =>
    n.replace(/_(bucket|sum|count)$/, ''),
  );
}

test('dashboard invariants: schema, datasource variable, unique ids, no import inputs', () => {
  const text = readFileSync(join(repoRoot, 'grafana/tapgate.json'), 'utf8');
  assert.equal(dashboard.schemaVersion, 42);
  assert.match(dashboard.uid, /^[a-z0-9-]{8,40}$/);
  assert.ok(!text.includes('DS_PROMETHEUS') && !text.includes('__inputs'));
  const v = dashboard.templating.list.find((t) => t.name === 'datasource');
  assert.deepEqual([v?.type, v?.query], ['datasource', 'prometheus']);
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length);
  for (const p of queryPanels) {
    assert.equal(p.datasource?.uid, '${datasource}', p.title);
    assert.ok((p.targets ?? []).length > 0, p.title);
    for (const t of p.targets ?? []) assert.equal(t.datasource.uid, '${datasource}', p.title);
  }
  const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
  assert.deepEqual(rows, [
    'Capture health',
    'Flows and cutoff',
    'Output',
    'Protocols and records',
    'Record sinks',
    'Gateway',
  ]);
});

describe(
  'every panel query against a real Prometheus scraping a live capture',
  {
    skip: !canUseNetns && 'needs root for network namespaces',
  },
  () => {
    const work = mkdtempSync(join(tmpdir(), 'tapgate-prom-'));
    let pair: VethPair;
    let tapgate: RunningCli;
    let prometheus: ChildProcess;
    let promUrl = '';
    let metricsPort = 0;

    before(async () => {
      pair = await createVethPair({ mtu: 65535 });
      const traffic = join(work, 'protocols.pcap');
      execFileSync('sh', [
        '-c',
        'gzip -dc "$0" > "$1"',
        join(repoRoot, 'assets/demo-protocols.pcap.gz'),
        traffic,
      ]);
      metricsPort = await freePort();
      // A file recorder, so that the sink row has a sink to show.
      const config = join(work, 'tapgate.yaml');
      writeFileSync(
        config,
        [
          'capture:',
          '  recorders: [{ name: archive }]',
          'recorders:',
          `  - { name: archive, file: { path: ${join(work, 'recorded.jsonl')} } }`,
          '',
        ].join('\n'),
      );
      tapgate = startCli([
        'capture',
        '-c',
        config,
        '-i',
        pair.outside,
        '-w',
        join(work, 'pcap'),
        '--compress',
        '--rotate-interval',
        '2s',
        '--retain-size',
        '1',
        '--records',
        join(work, 'records.jsonl'),
        '--metrics',
        `127.0.0.1:${metricsPort}`,
        '--no-progress',
      ]);
      await tapgate.waitForStderr(/capturing on/);

      const promPort = await freePort();
      promUrl = `http://127.0.0.1:${promPort}`;
      writeFileSync(
        join(work, 'prometheus.yml'),
        [
          'global: { scrape_interval: 1s, evaluation_interval: 1s }',
          'scrape_configs:',
          '  - job_name: tapgate',
          `    static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }]`,
          '',
        ].join('\n'),
      );
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(work, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(work, 'tsdb')}`,
          `--web.listen-address=127.0.0.1:${promPort}`,
        ],
        { stdio: 'ignore' },
      );
      // Traffic for ~12 s (rates need two scrapes in their window), files rotating every 2 s so
      // that retention deletes (the 1-byte budget keeps only the newest file).
      for (let i = 0; i < 4; i++) await replay(pair, traffic, { pps: 400 });
      await new Promise((r) => setTimeout(r, 2500));
    });
    after(async () => {
      prometheus.kill('SIGKILL');
      tapgate.kill('SIGINT');
      await tapgate.done;
      await pair.destroy();
      rmSync(work, { recursive: true, force: true });
    });

    async function query(expr: string): Promise<unknown[]> {
      const q = expr.replaceAll('$__rate_interval', '30s');
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: unknown[] };
      };
      assert.equal(body.status, 'success', `${q}: ${body.error ?? ''}`);
      return body.data!.result;
    }

    test('Prometheus scraped tapgate', async () => {
      const up = (await query('up{job="tapgate"}')) as { value: [number, string] }[];
      assert.equal(up[0]?.value[1], '1');
    });

    test('each panel returns data (gateway row: valid queries over exported metrics)', async () => {
      const exported = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const empty: string[] = [];
      for (const p of queryPanels) {
        for (const t of p.targets ?? []) {
          for (const name of metricNames(t.expr)) {
            assert.match(
              exported,
              new RegExp(`^# TYPE ${name} `, 'm'),
              `${p.title}: ${name} not exported`,
            );
          }
          const result = await query(t.expr);
          if (result.length === 0 && !NO_DATA_EXPECTED.test(p.title))
            empty.push(`${p.title}: ${t.expr}`);
        }
      }
      assert.deepEqual(empty, [], 'panel queries without data');
    });
  },
);
