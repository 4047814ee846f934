/**
 * Issue 5, sink outage during a live capture: the tcp recorder's receiver is down while traffic
 * flows, then comes up. Capture must not slow down (no kernel drops, every packet counted), the
 * sink counts what it could not deliver, and delivery resumes on its own once the receiver is back.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { repoRoot, startCli } from '../helpers/cli.ts';
import { canUseNetns, createVethPair, replay, type VethPair } from '../helpers/netns.ts';

const OUTAGE_MS = 30_000;

interface LiveJson {
  kernel: { drops: number } | null;
  flow: { packets: number };
  sinks: { name: string; stats: { delivered: number; dropped: number; errors: number } }[];
}

describe(
  'a recorder down for part of a live capture',
  { skip: !canUseNetns && 'needs root' },
  () => {
    const work = mkdtempSync(join(tmpdir(), 'tapgate-outage-'));
    const traffic = join(work, 'protocols.pcap');
    let pair: VethPair;

    before(async () => {
      execFileSync('sh', [
        '-c',
        'gzip -dc "$0" > "$1"',
        join(repoRoot, 'assets/demo-protocols.pcap.gz'),
        traffic,
      ]);
      pair = await createVethPair({ mtu: 65535 });
    });
    after(async () => {
      await pair.destroy();
      rmSync(work, { recursive: true, force: true });
    });

    test('capture unaffected, drops counted, delivery resumes', async () => {
      // A port nobody listens on yet.
      const probe = createServer();
      await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
      const port = (probe.address() as AddressInfo).port;
      await new Promise((r) => probe.close(r));

      const config = join(work, 'tapgate.yaml');
      writeFileSync(
        config,
        [
          'capture:',
          '  recorders: [{ name: collector }]',
          'recorders:',
          `  - { name: collector, tcp: { addr: "127.0.0.1:${port}", timeout: 1s }, queue: { records: 100 } }`,
          '',
        ].join('\n'),
      );
      const cli = startCli(
        [
          'capture',
          '-c',
          config,
          '-i',
          pair.outside,
          '--no-pcap',
          '--websocket-sample-rate',
          '-1',
          '--json',
        ],
        { compiled: true },
      );
      await cli.waitForStderr(/capturing on/);

      // Down for 30 s: traffic keeps coming (366 records a pass) against a queue of 100.
      let passes = 0;
      const downUntil = Date.now() + OUTAGE_MS;
      while (Date.now() < downUntil) {
        await replay(pair, traffic, { pps: 2000 });
        passes++;
      }

      // Up: a receiver counting lines; two more passes.
      let received = 0;
      const receiver: Server = createServer((s) => {
        s.on('data', (d: Buffer) => {
          for (const b of d) if (b === 0x0a) received++;
        });
      });
      await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r));
      const until = async (n: number): Promise<void> => {
        for (let i = 0; i < 150 && received < n; i++) await new Promise((r) => setTimeout(r, 100));
      };
      // The queue's backlog (its 100 newest records) goes out at the next retry (backoff ≤ 10 s).
      await until(100);
      const backlog = received;
      assert.equal(backlog, 100, 'the queued records were delivered once the receiver came up');
      for (let i = 0; i < 2; i++) await replay(pair, traffic, { pps: 2000 });
      passes += 2;
      await until(backlog + 2 * 366);
      cli.kill('SIGINT');
      const r = await cli.done;
      await new Promise((res) => receiver.close(res));
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as LiveJson;

      assert.equal(s.kernel?.drops ?? 0, 0, 'capture did not fall behind');
      assert.equal(s.flow.packets, passes * 1187, 'every packet captured');
      const sink = s.sinks.find((x) => x.name === 'collector');
      assert.ok(sink, 'the sink reports');
      assert.ok(sink.stats.dropped > 0, 'records dropped while the receiver was down, counted');
      assert.ok(sink.stats.errors > 0, 'failed attempts counted');
      // With the receiver up, new records flow again (a burst can still overrun the 100-record queue).
      assert.ok(received > backlog + 366, `delivery resumed: ${received} lines received`);
      assert.equal(sink.stats.delivered, received);
      // Nothing vanished: 366 records a pass, each delivered or dropped.
      assert.equal(sink.stats.delivered + sink.stats.dropped, passes * 366);
    });
  },
);
