/**
 * Live capture end to end, as a user runs it: `tapgate capture -i IF` as a child process on the
 * outside end of a veth pair, tcpreplay sending real captures into the inside end (in a namespace
 * made by the test), SIGINT to stop. The pcap files written are compared with what was sent, byte
 * for byte, and read by the real tcpdump.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { pcapFile } from '../helpers/capture-builders.ts';
import { startCli, runCli } from '../helpers/cli.ts';
import { ethernet, ipv4Header, udpHeader, tcp4, udp4, F } from '../helpers/frames.ts';
import {
  canUseNetns,
  createVethPair,
  promiscuity,
  replay,
  type VethPair,
} from '../helpers/netns.ts';
import { readPcap, tcpdumpCount } from '../helpers/pcap-file.ts';
import { tempDirsRemovedAfterTests } from '../helpers/pcap-test-helpers.ts';

const tempDir = tempDirsRemovedAfterTests();

interface LiveSummaryJson {
  interfaceCounters: Record<string, { rxPackets: number }>;
  flow: { packets: number; packetsWritten: number; flowsCreated: number };
  perWorker: { flow: { packets: number } }[];
  kernel: { packets: number; drops: number } | null;
  libpcap: { framesDroppedBackpressure: number } | null;
  affinityViolations: number;
  fanoutCheck: { flows: number; split: number } | null;
  stoppedBy: string;
  output: { filesClosed: number; packetsDropped: number } | null;
}

function outputFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/\.pcap(\.gz)?$/.test(e.name)) files.push(join(d, e.name));
    }
  };
  walk(dir);
  return files.sort();
}

function framesOf(files: string[]): Buffer[] {
  return files.flatMap((f) => readPcap(f).records.map((r) => r.data));
}

/** Direction-independent 5-tuple of an Ethernet/IPv4 TCP or UDP frame (after VLAN tags). */
function flowKey(frame: Buffer): string {
  let off = 12;
  while (frame.readUInt16BE(off) === 0x8100 || frame.readUInt16BE(off) === 0x88a8) off += 4;
  if (frame.readUInt16BE(off) !== 0x0800) return 'non-ip';
  const ip = off + 2;
  const ihl = (frame[ip]! & 15) * 4;
  const a = `${frame.subarray(ip + 12, ip + 16).join('.')}:${frame.readUInt16BE(ip + ihl)}`;
  const b = `${frame.subarray(ip + 16, ip + 20).join('.')}:${frame.readUInt16BE(ip + ihl + 2)}`;
  return `${frame[ip + 9]!} ${a < b ? `${a} ${b}` : `${b} ${a}`}`;
}

/** Every sent frame captured exactly once, and in sent order within each flow. */
function assertSameFrames(sent: Buffer[], got: Buffer[]): void {
  const count = new Map<string, number>();
  for (const f of sent) count.set(f.toString('hex'), (count.get(f.toString('hex')) ?? 0) + 1);
  for (const f of got) {
    const k = f.toString('hex');
    const c = count.get(k);
    assert.ok(c !== undefined && c > 0, `captured a frame that was not sent (or twice): ${k}`);
    count.set(k, c - 1);
  }
  const missing = [...count.values()].reduce((a, c) => a + c, 0);
  assert.equal(missing, 0, `${missing} sent frames were not captured`);
  const byFlow = (frames: Buffer[]): Map<string, string[]> => {
    const m = new Map<string, string[]>();
    for (const f of frames) {
      const k = flowKey(f);
      if (!m.has(k)) m.set(k, []);
      m.get(k)!.push(f.toString('hex'));
    }
    return m;
  };
  const want = byFlow(sent);
  for (const [k, frames] of byFlow(got)) {
    assert.deepEqual(frames, want.get(k), `flow ${k} reordered`);
  }
}

/** Runs `tapgate capture -i IFACES` around `send()`, then SIGINT; returns what it wrote. */
async function capture(
  ifaces: string,
  args: string[],
  send: () => Promise<unknown>,
): Promise<{ summary: LiveSummaryJson; frames: Buffer[]; files: string[]; stderr: string }> {
  const out = await tempDir('live');
  const cli = startCli([
    'capture',
    '-i',
    ifaces,
    '-w',
    out,
    '--rotate-interval',
    '0',
    '--json',
    ...args,
  ]);
  await cli.waitForStderr(/capturing on/);
  await send();
  await new Promise((r) => setTimeout(r, 300)); // the last ring block retires after 10 ms
  cli.kill('SIGINT');
  const r = await cli.done;
  assert.equal(r.code, 0, r.stderr);
  const summary = JSON.parse(r.stdout) as LiveSummaryJson;
  const files = outputFiles(out);
  return { summary, frames: framesOf(files), files, stderr: r.stderr };
}

describe('live capture', { skip: !canUseNetns && 'needs root for network namespaces' }, () => {
  let pair: VethPair;
  let mixedPcap: string;
  let mixedFrames: Buffer[];
  let vlanPcap: string;
  let vlanFrames: Buffer[];

  before(async () => {
    pair = await createVethPair();
    const dir = await tempDir('live');
    // Real-looking traffic: TCP and UDP flows both ways, MACs that are not the capturing end's
    // (so only promiscuous capture sees them).
    mixedPcap = join(dir, 'mixed.pcap');
    execFileSync('python3', [
      join(import.meta.dirname, '../../../shared/bench/gen_pcap.py'),
      '--out',
      mixedPcap,
      '--flows',
      '40',
      '--udp',
      '40',
      '--elephants',
      '0',
      '--duration',
      '2',
      '--seed',
      '11',
    ]);
    mixedFrames = readPcap(mixedPcap).records.map((r) => r.data);
    // 802.1Q and QinQ frames: the kernel strips the outer tag; the pcap must show it again.
    const tagged = (vlans: number[], i: number): Buffer => {
      const u = udpHeader(5000 + i, 53, 8);
      const ip = ipv4Header('10.1.0.1', '10.1.0.2', 17, u.length + 8);
      return Buffer.from([...ethernet(0x0800, vlans), ...ip, ...u, ...Array<number>(8).fill(i)]);
    };
    vlanFrames = [];
    for (let i = 0; i < 20; i++) {
      vlanFrames.push(tagged([0x8100], i), tagged([0x88a8, 0x8100], i));
      vlanFrames.push(Buffer.from(tcp4('10.2.0.1', 1000 + i, '10.2.0.2', 80, F.SYN)));
      vlanFrames.push(Buffer.from(udp4('10.2.0.2', 53, '10.2.0.1', 2000 + i, [1, 2, 3, i])));
    }
    vlanPcap = join(dir, 'vlan.pcap');
    writeFileSync(
      vlanPcap,
      pcapFile({ records: vlanFrames.map((data, i) => ({ sec: 1_700_000_000, sub: i, data })) }),
    );
  });
  after(async () => {
    await pair.destroy();
  });

  for (const engine of ['af-packet', 'pcap'] as const) {
    for (const workers of [1, 2]) {
      test(`${engine}, ${workers} worker(s): every frame captured and written once, in flow order`, async () => {
        const pps = engine === 'pcap' ? { pps: 4000 } : { topspeed: true };
        const { summary, frames, files } = await capture(
          pair.outside,
          [
            '--engine',
            engine,
            '--workers',
            String(workers),
            '--cutoff-bytes',
            '0',
            '--cutoff-packets',
            '0',
          ],
          () => replay(pair, mixedPcap, pps),
        );
        assertSameFrames(mixedFrames, frames);
        assert.equal(summary.flow.packets, mixedFrames.length);
        assert.equal(summary.flow.packetsWritten, mixedFrames.length);
        assert.equal(summary.affinityViolations, 0);
        // A flow split across workers would be created twice.
        assert.equal(summary.flow.flowsCreated, 80);
        assert.equal(summary.perWorker.length, workers);
        if (workers > 1) {
          for (const w of summary.perWorker) assert.ok(w.flow.packets > 0, 'idle worker');
        }
        if (engine === 'af-packet' && workers > 1) {
          assert.ok(summary.fanoutCheck && summary.fanoutCheck.flows > 0);
          assert.equal(summary.fanoutCheck.split, 0);
        } else {
          assert.equal(summary.fanoutCheck, null);
        }
        if (summary.kernel) assert.equal(summary.kernel.drops, 0);
        if (summary.libpcap) assert.equal(summary.libpcap.framesDroppedBackpressure, 0);
        assert.equal(
          files.reduce((a, f) => a + tcpdumpCount(f), 0),
          mixedFrames.length,
        );
      });
    }
  }

  test('two interfaces, two workers: both captured into one output, nothing lost', async () => {
    const second = await createVethPair();
    try {
      const { summary, frames, files } = await capture(
        `${pair.outside},${second.outside}`,
        ['--workers', '2', '--cutoff-packets', '0', '--cutoff-bytes', '0'],
        () => Promise.all([replay(pair, mixedPcap), replay(second, vlanPcap)]),
      );
      assert.deepEqual(Object.keys(summary.interfaceCounters), [pair.outside, second.outside]);
      assert.equal(summary.interfaceCounters[second.outside]!.rxPackets, vlanFrames.length);
      // One stream per link type: both interfaces are Ethernet, so one file for both.
      assert.equal(files.length, 1);
      assert.match(files[0]!, new RegExp(`/${pair.outside}_${second.outside}-`));
      assertSameFrames([...mixedFrames, ...vlanFrames], frames);
      assert.equal(summary.affinityViolations, 0);
    } finally {
      await second.destroy();
    }
  });

  test('802.1Q and QinQ tags come out as they were on the wire', async () => {
    const { frames } = await capture(pair.outside, ['--cutoff-packets', '0'], () =>
      replay(pair, vlanPcap),
    );
    assertSameFrames(vlanFrames, frames);
  });

  test('the interface is promiscuous while capturing, and not after', async () => {
    const before = await promiscuity(pair.outside);
    let during = -1;
    await capture(pair.outside, [], async () => {
      during = await promiscuity(pair.outside);
    });
    assert.equal(during, before + 1);
    assert.equal(await promiscuity(pair.outside), before);
  });

  for (const engine of ['af-packet', 'pcap'] as const) {
    test(`${engine}: a BPF filter selects exactly what tcpdump's selects`, async () => {
      const expr = 'udp or (tcp and port 80)';
      const out = await tempDir('live');
      const want = join(out, 'want.pcap');
      execFileSync('tcpdump', ['-r', mixedPcap, '-w', want, expr], { stdio: 'ignore' });
      const wanted = readPcap(want).records.map((r) => r.data);
      assert.ok(wanted.length > 0 && wanted.length < mixedFrames.length);
      const { frames } = await capture(
        pair.outside,
        ['--engine', engine, '-f', expr, '--cutoff-bytes', '0', '--cutoff-packets', '0'],
        () => replay(pair, mixedPcap, engine === 'pcap' ? { pps: 4000 } : {}),
      );
      assertSameFrames(wanted, frames);
    });
  }

  test('stopping in the middle of traffic leaves complete, valid gzip files', async () => {
    const out = await tempDir('live');
    const cli = startCli([
      'capture',
      '-i',
      pair.outside,
      '-w',
      out,
      '--compress',
      '--rotate-interval',
      '1s',
      '--json',
    ]);
    await cli.waitForStderr(/capturing on/);
    const sending = replay(pair, mixedPcap, { pps: 2000 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 1500));
    cli.kill('SIGTERM');
    const r = await cli.done;
    await sending;
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout) as LiveSummaryJson;
    assert.equal(summary.stoppedBy, 'signal');
    const files = outputFiles(out);
    assert.ok(files.length >= 1 && files.every((f) => f.endsWith('.pcap.gz')));
    for (const f of files) execFileSync('gzip', ['-t', f]);
    const written = files.reduce((a, f) => a + tcpdumpCount(f), 0);
    assert.ok(written > 0 && written < mixedFrames.length, `wrote ${written}`);
    assert.equal(written, summary.flow.packetsWritten);
  });

  for (const workers of [1, 2]) {
    test(`on loopback every packet is captured once, not twice (sent and received), ${workers} worker(s)`, async () => {
      const receiver = createSocket('udp4');
      await new Promise<void>((r) => receiver.bind(0, '127.0.0.1', r));
      const port = receiver.address().port;
      const cli = startCli([
        'capture',
        '-i',
        'lo',
        '--no-pcap',
        '--json',
        '--workers',
        String(workers),
        '-f',
        `udp port ${port}`,
      ]);
      await cli.waitForStderr(/capturing on/);
      const sender = createSocket('udp4');
      let got = 0;
      receiver.on('message', () => got++);
      for (let i = 0; i < 50; i++) {
        await new Promise<void>((r) => {
          sender.send(Buffer.from([i]), port, '127.0.0.1', () => {
            r();
          });
        });
      }
      for (let i = 0; i < 100 && got < 50; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 200));
      cli.kill('SIGINT');
      const r = await cli.done;
      sender.close();
      receiver.close();
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as LiveSummaryJson).flow.packets, 50);
    });
  }

  test('on a terminal a status line shows packets, rate and kernel drops', () => {
    // `script` gives the CLI a pseudo-terminal.
    const cli = `${process.execPath} --import tsx src/cli.ts capture -i ${pair.outside} --no-pcap --duration 2500ms`;
    const r = spawnSync('script', ['-qec', cli, '/dev/null'], {
      cwd: join(import.meta.dirname, '../..'),
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /00:00:0\d \| [\d,]+ packets \([\d.]+ kpps\) \| [\d,]+ written \| [\d,]+ flows \| kernel drops 0/,
    );
    assert.match(r.stdout, /stopped by duration/);
  });

  test('user errors: unknown interface, bad filter, bad engine exit 2 with one line', async () => {
    const out = await tempDir('live');
    const cases: [string[], RegExp][] = [
      [['-i', 'tgnosuchif0'], /no such interface: tgnosuchif0/],
      [['-i', pair.outside, '-f', 'port port'], /filter/i],
      [['-i', pair.outside, '--engine', 'pcap', '-f', 'tcp and and'], /filter/i],
      [['-i', pair.outside, '--engine', 'dpdk'], /--engine/],
      [['-i', pair.outside, '-r', 'x.pcap'], /not both/],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(['capture', ...args, '-w', out]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      // cap (libpcap engine) itself warns about interfaces without an IPv4 address.
      const ours = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^Warning: .*no IPv4 address assigned/.test(l));
      assert.equal(ours.length, 1, r.stderr);
    }
  });

  test('without root: a clear message, exit 2; with CAP_NET_RAW + CAP_NET_ADMIN only, it captures', () => {
    const asNobody = (caps: string): string =>
      execFileSync(
        'bash',
        [
          '-c',
          `setpriv --reuid=65534 --regid=65534 --clear-groups ${caps} ${process.execPath} --import tsx src/cli.ts capture -i ${pair.outside} --no-pcap --duration 1s --json 2>&1; echo "exit=$?"`,
        ],
        { cwd: join(import.meta.dirname, '../..'), encoding: 'utf8', stdio: 'pipe' },
      );
    const denied = asNobody('--inh-caps=-all');
    assert.match(denied, /needs root or CAP_NET_RAW \+ CAP_NET_ADMIN/);
    assert.match(denied, /exit=2$/m);
    const allowed = asNobody('--inh-caps=+net_raw,+net_admin --ambient-caps=+net_raw,+net_admin');
    assert.match(allowed, /exit=0$/m);
    assert.match(allowed, /"stoppedBy":"duration"/);
  });
});
