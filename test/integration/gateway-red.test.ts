/**
 * `red` (transparent proxy) behind an iptables REDIRECT rule, in a network namespace made for the
 * test: curl inside the namespace talks to the original destination, the kernel redirects it to
 * the gateway, which finds the destination with SO_ORIGINAL_DST and relays there.
 *
 *   [netns] curl --interface 10.77.0.5 http://10.77.0.2/…
 *             │  nat OUTPUT -s 10.77.0.5 -d 10.77.0.2 --dport 80 → REDIRECT :15001
 *             ▼
 *           tapgate gateway (red, 127.0.0.1:15001) ──► 10.77.0.2:80 (its own source: no rule)
 *
 * Needs root (namespaces, iptables) and the native addon.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { nativeAddon } from '../../src/capture/native-addon.ts';
import { canUseNetns } from '../helpers/netns.ts';
import { run, startGatewayCli, tempDir, waitFor } from '../helpers/gateway-harness.ts';

const SERVER = '10.77.0.2';
const CLIENT = '10.77.0.5';
const SNIFFED_PORT = 15001;
const RAW_PORT = 15002;

const UPSTREAM = `
const http = require('node:http');
let n = 0;
for (const port of [80, 81]) {
  http.createServer((req, res) => res.end('origin' + port + ' ' + req.url))
    .listen(port, '${SERVER}', () => { if (++n === 2) console.log('ready'); });
}`;

const CONFIG = `
services:
  - name: transparent
    addr: 127.0.0.1:${SNIFFED_PORT}
    handler: {type: red, metadata: {sniffing: true, sniffing.timeout: 1s}}
    listener: {type: red}
  - name: transparent-raw
    addr: 127.0.0.1:${RAW_PORT}
    handler: {type: redir}
`;

const skip = !canUseNetns
  ? 'needs root'
  : nativeAddon() === null
    ? 'native addon not built'
    : false;

describe('gateway: red handler (iptables REDIRECT)', { skip }, () => {
  const ns = `tg-gw-red-${String(process.pid)}`;
  let upstream: ChildProcess | null = null;
  let dir = '';

  const inNs = (...args: string[]): Promise<{ stdout: string }> =>
    run('ip', ['netns', 'exec', ns, ...args], { timeout: 15_000 });

  before(async () => {
    dir = await tempDir('red');
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    // Both addresses are local to the namespace (a veth pair with no peer traffic holds them).
    await run('ip', ['-n', ns, 'link', 'add', 'tga', 'type', 'veth', 'peer', 'name', 'tgb']);
    await run('ip', ['-n', ns, 'addr', 'add', `${SERVER}/32`, 'dev', 'tga']);
    await run('ip', ['-n', ns, 'addr', 'add', `${CLIENT}/32`, 'dev', 'tga']);
    await run('ip', ['-n', ns, 'link', 'set', 'tga', 'up']);
    await run('ip', ['-n', ns, 'link', 'set', 'tgb', 'up']);
    for (const [dport, to] of [
      ['80', SNIFFED_PORT],
      ['81', RAW_PORT],
    ] as const) {
      await inNs(
        ...['iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-s', CLIENT, '-d', SERVER],
        ...['--dport', dport, '-j', 'REDIRECT', '--to-ports', String(to)],
      );
    }
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', UPSTREAM], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    upstream = child;
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the upstream servers', () => out.includes('ready'), 10_000);
  });

  after(async () => {
    upstream?.kill('SIGKILL');
    await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  });

  test('curl to the original destination reaches it through the gateway; records name it', async () => {
    const gw = await startGatewayCli(dir, CONFIG, { ns, services: 2 });
    const curlNs = (url: string): Promise<{ stdout: string }> =>
      inNs('curl', '-sS', '--max-time', '5', '--interface', CLIENT, url);
    assert.equal((await curlNs(`http://${SERVER}/sniffed`)).stdout, 'origin80 /sniffed');
    assert.equal((await curlNs(`http://${SERVER}:81/raw`)).stdout, 'origin81 /raw');
    // Straight to the gateway's port: nothing was redirected, so there is nowhere to go.
    await assert.rejects(curlNs(`http://127.0.0.1:${SNIFFED_PORT}/direct`));
    const { code, records, stderr } = await gw.stop();
    assert.equal(code, 0, stderr);

    const sniffed = records.find((r) => r.http?.uri === '/sniffed');
    assert.ok(sniffed, JSON.stringify(records, null, 1));
    assert.equal(sniffed.service, 'transparent');
    assert.equal(sniffed.dst, `${SERVER}:80`);
    assert.equal(sniffed.host, SERVER + ':80');
    assert.equal(sniffed.local, `127.0.0.1:${SNIFFED_PORT}`);
    assert.match(sniffed.remote, new RegExp(`^${CLIENT.replaceAll('.', '\\.')}:\\d+$`));
    assert.equal(sniffed.http!.statusCode, 200);

    // Without sniffing: one connection record, host = dst = the original destination.
    const raw = records.find((r) => r.service === 'transparent-raw');
    assert.ok(raw);
    assert.equal(raw.proto, undefined);
    assert.equal(raw.dst, `${SERVER}:81`);
    assert.equal(raw.host, `${SERVER}:81`);
    assert.equal(raw.route, `${SERVER}:81`);
    assert.ok(raw.inputBytes > 50 && raw.outputBytes > 50);

    const direct = records.find((r) => r.err?.startsWith('red:') === true);
    assert.ok(direct, 'a record for the direct connection');
    assert.equal(direct.err, 'red: the original destination is the gateway itself');
  });
});
