/**
 * The files in deploy/ checked by the tools that will read them: systemd's own verifier for the
 * unit, promtool for the scrape config, tapgate's config loader for the example tapgate.yaml.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveCaptureConfig } from '../../src/config/capture-config.ts';
import { loadCaptureConfigFile } from '../../src/config/capture-config-yaml.ts';
import { repoRoot } from '../helpers/cli.ts';

const unitPath = join(repoRoot, 'deploy/tapgate.service');
const work = mkdtempSync(join(tmpdir(), 'tapgate-deploy-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** systemd-analyze verify: exit status and what it printed (unknown keys are only warnings). */
function verifyUnit(text: string, name: string): { status: number | null; output: string } {
  const path = join(work, name);
  writeFileSync(path, text);
  const r = spawnSync('systemd-analyze', ['verify', '--man=no', path], { encoding: 'utf8' });
  return { status: r.status, output: (r.stdout + r.stderr).trim() };
}

test('the systemd unit passes systemd-analyze verify without a warning', () => {
  const unit = readFileSync(unitPath, 'utf8');
  const r = verifyUnit(unit, 'tapgate.service');
  assert.equal(r.output, '');
  assert.equal(r.status, 0);
  // The check can fail: a misspelt key is reported.
  const bad = verifyUnit(unit.replace('NoNewPrivileges=', 'NoNewPrivilege='), 'bad.service');
  assert.match(bad.output, /Unknown key.*NoNewPrivilege/);
});

test('the unit runs unprivileged with only the capture capabilities and a read-only system', () => {
  const unit = readFileSync(unitPath, 'utf8');
  const settings = new Map<string, string>();
  for (const line of unit.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) settings.set(m[1]!, m[2]!);
  }
  assert.equal(settings.get('User'), 'tapgate');
  assert.equal(settings.get('AmbientCapabilities'), 'CAP_NET_RAW CAP_NET_ADMIN');
  assert.equal(settings.get('CapabilityBoundingSet'), 'CAP_NET_RAW CAP_NET_ADMIN');
  assert.equal(settings.get('ProtectSystem'), 'strict');
  assert.equal(settings.get('NoNewPrivileges'), 'yes');
  assert.match(settings.get('ReadWritePaths') ?? '', /\/var\/lib\/tapgate/);
  assert.match(settings.get('Restart') ?? '', /on-failure|always/);
  assert.match(settings.get('ExecStart') ?? '', /capture -c \/etc\/tapgate\/tapgate\.yaml/);
});

test('the Prometheus scrape config passes promtool check config', () => {
  const out = execFileSync(
    'promtool',
    ['check', 'config', join(repoRoot, 'deploy/prometheus.yml')],
    {
      encoding: 'utf8',
    },
  );
  assert.match(out, /SUCCESS/);
});

test('the example tapgate.yaml loads, and writes only where the unit allows', async () => {
  const patch = await loadCaptureConfigFile(join(repoRoot, 'deploy/tapgate.yaml'));
  const config = resolveCaptureConfig(patch, {});
  assert.deepEqual(config.interfaces, ['eth1']);
  assert.equal(config.logLevel, 'info');
  // Prometheus scrapes the address the example serves metrics on.
  const scrape = readFileSync(join(repoRoot, 'deploy/prometheus.yml'), 'utf8');
  assert.ok(scrape.includes(`'${String(config.metricsAddr)}'`), String(config.metricsAddr));
  assert.equal(config.live.engine, 'af-packet');
  const unit = readFileSync(unitPath, 'utf8');
  const writable = (/^ReadWritePaths=(.*)$/m.exec(unit)?.[1] ?? '').split(' ');
  const inside = (path: string): boolean => writable.some((dir) => path.startsWith(dir + '/'));
  assert.ok(config.outDir !== null && inside(config.outDir), `pcap dir ${String(config.outDir)}`);
  assert.ok(
    config.recordsPath !== null && inside(config.recordsPath),
    `records ${String(config.recordsPath)}`,
  );
});
