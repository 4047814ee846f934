/**
 * The libpcap engine against the real kernel: frames replayed by tcpreplay into the inside end of a
 * veth pair (in a namespace of its own) are captured by LibpcapSource on the outside end.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { walkFrameBatch } from '../../src/capture/frame-batch.ts';
import { newFrameView } from '../../src/capture/frame.ts';
import { LibpcapSource, type LibpcapSourceOptions } from '../../src/capture/libpcap-source.ts';
import { TapgateError } from '../../src/errors.ts';
import { pcapFile } from '../helpers/capture-builders.ts';
import {
  ethernet,
  F,
  ipv4Header,
  ipv6Header,
  tcp4,
  tcp6,
  udp4,
  udpHeader,
} from '../helpers/frames.ts';
import { canUseNetns, createVethPair, replay, type VethPair } from '../helpers/netns.ts';
import { readPcapFile, run, tempDirsRemovedAfterTests } from '../helpers/pcap-test-helpers.ts';
import { rng } from '../helpers/random.ts';

const haveCap = ((): boolean => {
  try {
    createRequire(import.meta.url)('cap');
    return true;
  } catch {
    return false;
  }
})();
const skip = !canUseNetns
  ? 'needs root (network namespaces, live capture)'
  : !haveCap
    ? 'the optional cap package is not installed'
    : !existsSync('/usr/bin/tcpreplay') || !existsSync('/usr/bin/tcpdump')
      ? 'needs tcpreplay and tcpdump'
      : false;

const PPS = 2000;

interface SentFrame {
  bytes: Buffer;
  /** Sorted address pair + protocol; '' for frames that are not IP. */
  flow: string;
  /** 'a' or 'b': which end sent it. */
  dir: string;
}

/** Payload that makes frame `i` unique. */
const tag = (i: number, n: number): number[] =>
  Array.from({ length: n }, (_, j) => (j < 2 ? (i >> (8 * j)) & 255 : (i * 7 + j) & 255));

function udp6(src: string, sp: number, dst: string, dp: number, data: number[]): number[] {
  const u = udpHeader(sp, dp, data.length);
  return [...ethernet(0x86dd), ...ipv6Header(src, dst, 17, u.length + data.length), ...u, ...data];
}

/**
 * ~300 distinct frames: 100 flows (IPv4/IPv6, TCP/UDP) with three frames each in both directions,
 * interleaved; a fragmented datagram with a reply; 802.1Q-tagged frames; a few non-IP frames.
 */
function buildFrames(): SentFrame[] {
  const rand = rng(1234);
  const frames: SentFrame[] = [];
  const perFlow: SentFrame[][] = [];
  let n = 0;
  for (let f = 0; f < 100; f++) {
    const v6 = f % 4 === 3;
    const tcp = f % 3 === 0;
    const a = v6 ? `2001:db8::${(f + 1).toString(16)}` : `10.1.${String(f)}.1`;
    const b = v6
      ? `2001:db8:1::${(f * 3 + 7).toString(16)}`
      : `192.168.${String(f % 7)}.${String(f + 2)}`;
    const [pa, pb] = [20000 + f, tcp ? 443 : 53];
    const flow = `${[a, b].sort().join('|')}|${tcp ? 6 : 17}`;
    const list: SentFrame[] = [];
    for (let k = 0; k < 3; k++) {
      const fromA = k !== 1;
      const data = tag(n++, 10 + Math.floor(rand() * (k === 2 ? 1400 : 200)));
      const [s, sp, d, dp] = fromA ? [a, pa, b, pb] : [b, pb, a, pa];
      const bytes = tcp
        ? (v6 ? tcp6 : tcp4)(s, sp, d, dp, F.ACK | F.PSH, data)
        : v6
          ? udp6(s, sp, d, dp, data)
          : udp4(s, sp, d, dp, data);
      list.push({ bytes: Buffer.from(bytes), flow, dir: fromA ? 'a' : 'b' });
    }
    perFlow.push(list);
  }
  // Interleave the flows, keeping each flow's frames in order.
  while (perFlow.some((l) => l.length > 0)) {
    const open = perFlow.filter((l) => l.length > 0);
    frames.push(open[Math.floor(rand() * open.length)]!.shift()!);
  }
  // A fragmented UDP datagram (first, later) and a fragment of the reply: one flow.
  const fragFlow = '172.16.0.1|172.16.0.2|17';
  const u = udpHeader(5000, 5001, 1600);
  frames.push(
    {
      bytes: Buffer.from([
        ...ethernet(0x0800),
        ...ipv4Header('172.16.0.1', '172.16.0.2', 17, 1480, { id: 99, moreFragments: true }),
        ...u,
        ...tag(n++, 1472),
      ]),
      flow: fragFlow,
      dir: 'a',
    },
    {
      bytes: Buffer.from([
        ...ethernet(0x0800),
        ...ipv4Header('172.16.0.1', '172.16.0.2', 17, 128, { id: 99, fragOffset8: 185 }),
        ...tag(n++, 128),
      ]),
      flow: fragFlow,
      dir: 'a',
    },
    {
      bytes: Buffer.from([
        ...ethernet(0x0800),
        ...ipv4Header('172.16.0.2', '172.16.0.1', 17, 64, { id: 7, fragOffset8: 185 }),
        ...tag(n++, 64),
      ]),
      flow: fragFlow,
      dir: 'b',
    },
  );
  // 802.1Q-tagged TCP in both directions (the kernel strips the tag, libpcap puts it back).
  for (let k = 0; k < 2; k++) {
    const [s, d] = k === 0 ? ['10.9.9.1', '10.9.9.2'] : ['10.9.9.2', '10.9.9.1'];
    const t = tcp4(s, 1000, d, 2000, F.ACK, tag(n++, 30));
    frames.push({
      bytes: Buffer.from([...ethernet(0x0800, [0x8100]), ...t.slice(14)]),
      flow: '10.9.9.1|10.9.9.2|6',
      dir: k === 0 ? 'a' : 'b',
    });
  }
  // Not IP: ARP-like and a local experimental ethertype.
  for (const et of [0x0806, 0x88b5]) {
    frames.push({ bytes: Buffer.from([...ethernet(et), ...tag(n++, 46)]), flow: '', dir: 'a' });
  }
  return frames;
}

interface Captured {
  worker: number;
  hex: string;
  tsSec: number;
  tsNsec: number;
  capLen: number;
  origLen: number;
  iface: number;
}

/** Waits until the packet count reaches `expected` and stays put, or stops growing (bounded). */
async function settle(src: LibpcapSource, expected: number, maxMs = 10_000): Promise<void> {
  const started = Date.now();
  let last = -1;
  let lastChange = Date.now();
  while (Date.now() - started < maxMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = src.stats.packets;
    if (now !== last) {
      last = now;
      lastChange = Date.now();
    }
    const quiet = Date.now() - lastChange;
    if ((now >= expected && quiet >= 300) || quiet >= 1500) return;
  }
}

/** Opens a source on `iface`, replays `pcap` into the pair, closes and walks every batch. */
async function captureReplay(
  pair: VethPair,
  pcap: string,
  expected: number,
  over: Partial<LibpcapSourceOptions> = {},
): Promise<{ frames: Captured[]; src: LibpcapSource; openedMs: number; closedMs: number }> {
  const batches: { worker: number; batch: ArrayBuffer }[] = [];
  const openedMs = Date.now();
  const src = LibpcapSource.open({
    ifaces: [pair.outside],
    filter: '',
    snapLen: 65535,
    bufferSize: 8 << 20,
    promisc: true,
    workers: 2,
    batchBytes: 16 << 10, // small: full batches as well as timer flushes
    flushIntervalMs: 20,
    onBatch: (worker, batch) => batches.push({ worker, batch }),
    ...over,
  });
  try {
    const r = await replay(pair, pcap, { pps: PPS });
    assert.equal(r.sent, (await readPcapFile(pcap)).records.length);
    await settle(src, expected);
  } finally {
    src.close();
  }
  const closedMs = Date.now();
  src.close(); // idempotent
  const frames: Captured[] = [];
  const view = newFrameView();
  for (const { worker, batch } of batches) {
    walkFrameBatch(batch, src.ifaces, view, {
      onFrame: (f) =>
        frames.push({
          worker,
          hex: f.data.toString('hex', f.offset, f.offset + f.capLen),
          tsSec: f.tsSec,
          tsNsec: f.tsNsec,
          capLen: f.capLen,
          origLen: f.origLen,
          iface: f.iface.id,
        }),
    });
  }
  assert.equal(src.stats.batches, batches.length);
  return { frames, src, openedMs, closedMs };
}

const countBy = (xs: string[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

describe('libpcap engine on a veth pair', { skip, timeout: 120_000 }, () => {
  let pair: VethPair;
  let sentPath: string;
  const sent = buildFrames();
  const tempDir = tempDirsRemovedAfterTests();

  before(async () => {
    pair = await createVethPair();
    const dir = await tempDir('libpcap');
    sentPath = join(dir, 'sent.pcap');
    writeFileSync(
      sentPath,
      pcapFile({
        snapLen: 65535,
        records: sent.map((s, i) => ({ sec: 1_700_000_000 + i, sub: 0, data: s.bytes })),
      }),
    );
  });

  after(async () => {
    await pair.destroy();
  });

  test('every frame captured exactly once, both directions of a flow on one worker', async () => {
    assert.ok(sent.length >= 300);
    assert.equal(new Set(sent.map((s) => s.bytes.toString('hex'))).size, sent.length);
    const { frames, src, openedMs, closedMs } = await captureReplay(pair, sentPath, sent.length);

    assert.deepEqual(
      countBy(frames.map((f) => f.hex)),
      countBy(sent.map((s) => s.bytes.toString('hex'))),
    );
    assert.equal(src.stats.packets, sent.length);
    assert.equal(
      src.stats.bytes,
      sent.reduce((a, s) => a + s.bytes.length, 0),
    );
    assert.equal(src.stats.truncated, 0);
    assert.deepEqual(src.stats.perWorker, [
      frames.filter((f) => f.worker === 0).length,
      frames.filter((f) => f.worker === 1).length,
    ]);
    assert.deepEqual(src.ifaces, [
      { id: 0, linkType: 1, snapLen: 65535, tsPrecision: 'us', name: pair.outside },
    ]);

    const byHex = new Map(sent.map((s) => [s.bytes.toString('hex'), s]));
    const workersOfFlow = new Map<string, Set<number>>();
    const dirsOfFlow = new Map<string, Set<string>>();
    for (const f of frames) {
      assert.equal(f.origLen, f.capLen);
      assert.equal(f.iface, 0);
      const s = byHex.get(f.hex)!;
      if (s.flow === '') {
        assert.equal(f.worker, 0, 'frames that are not IP hash to 0: worker 0');
        continue;
      }
      if (!workersOfFlow.has(s.flow)) workersOfFlow.set(s.flow, new Set());
      if (!dirsOfFlow.has(s.flow)) dirsOfFlow.set(s.flow, new Set());
      workersOfFlow.get(s.flow)!.add(f.worker);
      dirsOfFlow.get(s.flow)!.add(s.dir);
    }
    assert.equal(workersOfFlow.size, 102);
    for (const [flow, ws] of workersOfFlow) {
      assert.equal(ws.size, 1, `flow ${flow} split over workers ${[...ws].join(',')}`);
      assert.equal(dirsOfFlow.get(flow)!.size, 2, `flow ${flow}: both directions sent`);
    }
    const perWorker = [0, 1].map((w) => [...workersOfFlow.values()].filter((s) => s.has(w)).length);
    assert.ok(Math.min(...perWorker) >= 25, `flows per worker ${perWorker.join('/')}`);

    // Times: taken when cap's callback ran, so between open and close, and never going back
    // within one worker's batches (they are filled in capture order).
    const prev = [0, 0];
    for (const f of frames) {
      const ms = f.tsSec * 1000 + f.tsNsec / 1e6;
      assert.ok(f.tsNsec >= 0 && f.tsNsec < 1e9);
      assert.ok(ms >= openedMs - 5 && ms <= closedMs + 5, `time ${String(ms)}`);
      assert.ok(ms >= prev[f.worker]!, 'time order within a worker');
      prev[f.worker] = ms;
    }
  });

  test("filter 'udp' selects exactly what tcpdump -r selects", async () => {
    const dir = await tempDir('libpcap-filter');
    const udpPath = join(dir, 'udp.pcap');
    const r = await run('tcpdump', ['-r', sentPath, '-n', '-w', udpPath, 'udp']);
    assert.equal(r.code, 0, r.stderr);
    const want = (await readPcapFile(udpPath)).records.map((x) => x.data.toString('hex'));
    const udpCount = sent.filter((s) => s.flow.endsWith('|17')).length;
    assert.equal(want.length, udpCount);

    const { frames, src } = await captureReplay(pair, sentPath, want.length, { filter: 'udp' });
    assert.deepEqual(countBy(frames.map((f) => f.hex)), countBy(want));
    assert.equal(src.stats.packets, want.length);
  });

  // Live on Linux the kernel strips an 802.1Q tag before the filter runs (libpcap puts it back in
  // the captured bytes): 'udp' matches tagged UDP, which tcpdump -r on the same bytes does not.
  // 'vlan and udp' is the filter that means the same live and on a file.
  test('802.1Q: live filters see frames without their tag', async () => {
    const dir = await tempDir('libpcap-vlan');
    const path = join(dir, 'vlan.pcap');
    const untagged = udp4('10.5.0.1', 1, '10.5.0.2', 2, tag(1, 20));
    const frames = [
      Buffer.from(untagged),
      Buffer.from([
        ...ethernet(0x0800, [0x8100]),
        ...udp4('10.5.0.1', 1, '10.5.0.2', 2, tag(2, 20)).slice(14),
      ]),
      Buffer.from([
        ...ethernet(0x0800, [0x8100]),
        ...tcp4('10.5.0.1', 1, '10.5.0.2', 2, F.ACK).slice(14),
      ]),
    ];
    writeFileSync(path, pcapFile({ records: frames.map((data) => ({ sec: 1, sub: 0, data })) }));
    const hex = frames.map((f) => f.toString('hex'));
    const live = async (filter: string): Promise<string[]> =>
      (await captureReplay(pair, path, 0, { filter })).frames.map((f) => f.hex).sort();
    const file = async (filter: string): Promise<string[]> => {
      const out = join(dir, 'filtered.pcap');
      const r = await run('tcpdump', ['-r', path, '-n', '-w', out, filter]);
      assert.equal(r.code, 0, r.stderr);
      return (await readPcapFile(out)).records.map((x) => x.data.toString('hex')).sort();
    };
    assert.deepEqual(await file('udp'), [hex[0]]);
    assert.deepEqual(await live('udp'), [hex[0], hex[1]].sort());
    assert.deepEqual(await file('vlan and udp'), [hex[1]]);
    assert.deepEqual(await live('vlan and udp'), [hex[1]]);
  });

  test('snapLen below the frame size: frames cut and counted, origLen unknown', async () => {
    const snapLen = 128;
    const { frames, src } = await captureReplay(pair, sentPath, sent.length, { snapLen });
    const long = sent.filter((s) => s.bytes.length > snapLen).length;
    assert.ok(long > 50);
    assert.equal(src.stats.truncated, long);
    assert.equal(src.ifaces[0]!.snapLen, snapLen);
    assert.deepEqual(
      countBy(frames.map((f) => f.hex)),
      countBy(sent.map((s) => s.bytes.subarray(0, snapLen).toString('hex'))),
    );
    for (const f of frames) assert.equal(f.origLen, f.capLen);
  });

  test('unknown interface → TG_ERR_INTERFACE', () => {
    assert.throws(
      () =>
        LibpcapSource.open({
          ifaces: [pair.outside, 'tg-no-such0'],
          filter: '',
          snapLen: 65535,
          bufferSize: 1 << 20,
          promisc: true,
          workers: 1,
          batchBytes: 65536,
          flushIntervalMs: 20,
          onBatch: () => undefined,
        }),
      (e: unknown) =>
        e instanceof TapgateError &&
        e.code === 'TG_ERR_INTERFACE' &&
        e.message === 'no such interface: tg-no-such0',
    );
  });

  test('bad filter → TG_ERR_FILTER with libpcap message', () => {
    for (const filter of ['udp and and', 'tcp port 99999']) {
      assert.throws(
        () =>
          LibpcapSource.open({
            ifaces: [pair.outside],
            filter,
            snapLen: 65535,
            bufferSize: 1 << 20,
            promisc: true,
            workers: 1,
            batchBytes: 65536,
            flushIntervalMs: 20,
            onBatch: () => undefined,
          }),
        (e: unknown) =>
          e instanceof TapgateError &&
          e.code === 'TG_ERR_FILTER' &&
          /syntax error|illegal port/.test(e.message),
      );
    }
  });

  test(
    'without CAP_NET_RAW → TG_ERR_CAPTURE_PERMISSION',
    { skip: !existsSync('/usr/sbin/capsh') },
    async () => {
      const script = [
        "import { LibpcapSource } from './src/capture/libpcap-source.ts';",
        'try {',
        `  LibpcapSource.open({ ifaces: ['${pair.outside}'], filter: '', snapLen: 100,`,
        '    bufferSize: 1 << 20, promisc: true, workers: 1, batchBytes: 65536,',
        '    flushIntervalMs: 20, onBatch() {} });',
        "  console.log('opened');",
        '} catch (e) { console.log(e.code + ": " + e.message); }',
      ].join('\n');
      const { stdout } = await promisify(execFile)(
        '/usr/sbin/capsh',
        [
          '--drop=cap_net_raw',
          '--',
          '-c',
          `exec "${process.execPath}" --import tsx --input-type=module -e "$0"`,
          script,
        ],
        { cwd: join(import.meta.dirname, '../..'), timeout: 30_000 },
      );
      assert.equal(
        stdout.trim(),
        `TG_ERR_CAPTURE_PERMISSION: live capture on ${pair.outside} needs root or CAP_NET_RAW + CAP_NET_ADMIN`,
      );
    },
  );

  // cap's Caps crash the process when collected (a freed uv_poll_t still linked in libuv's handle
  // queue, or an uninitialised one after a failed open): every Cap the tests above created (open,
  // closed, failed) must still be reachable. Collect, then close neighbouring libuv handles.
  test('collecting garbage after all that, then churning libuv handles, is harmless', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let round = 0; round < 5; round++) {
      gc();
      const servers = await Promise.all(
        Array.from(
          { length: 20 },
          () =>
            new Promise<ReturnType<typeof createServer>>((resolve) => {
              const s = createServer().listen(0, '127.0.0.1', () => {
                resolve(s);
              });
            }),
        ),
      );
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
