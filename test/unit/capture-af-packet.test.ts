/**
 * The AF_PACKET TPACKET_V3 engine against the real kernel. Frames are written to a pcap, replayed
 * by tcpreplay into the inside end of a veth pair (in a namespace made for the test), and
 * captured on the outside end, where the test compares what arrived with what was sent, byte for
 * byte. originalDst runs in namespaces of its own with an iptables REDIRECT rule.
 *
 * Needs root (namespaces, AF_PACKET, iptables) and the built addon; skipped otherwise.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';

import { AfPacketRing } from '../../src/capture/af-packet-ring.ts';
import {
  closePacketSocket,
  compileCaptureFilter,
  compileInterfaceFilter,
  interfaceLinkType,
  openAfPacketSocket,
  readInterfaceCounters,
  readPacketSocketStats,
  type AfPacketOpenOptions,
  type AfPacketSocket,
} from '../../src/capture/af-packet-socket.ts';
import type { CaptureInterface, FrameView } from '../../src/capture/frame.ts';
import { nativeAddon, type OriginalDst } from '../../src/capture/native-addon.ts';
import { isTapgateError, type ErrorCode } from '../../src/errors.ts';
import { pcapFile } from '../helpers/capture-builders.ts';
import { F, ipv4Header, tcp4, tcp6, udp4, udpHeader } from '../helpers/frames.ts';
import {
  canUseNetns,
  createVethPair,
  promiscuity,
  replay,
  type VethPair,
} from '../helpers/netns.ts';
import { readPcap } from '../helpers/pcap-file.ts';
import { ethernetFrame, run, tempDirsRemovedAfterTests } from '../helpers/pcap-test-helpers.ts';

const exec = promisify(execFile);

const SNAP_LEN = 262144;
const RING = { blockSize: 1 << 16, blockCount: 32, blockTimeoutMs: 10 } as const;
const REPO = new URL('../../', import.meta.url).pathname;
const WORKER_URL = new URL('../fixtures/af-packet-ring-worker.ts', import.meta.url).href;
const PROBE = new URL('../fixtures/original-dst-probe.ts', import.meta.url).pathname;

const skip = !canUseNetns
  ? 'needs root (network namespaces, AF_PACKET)'
  : typeof nativeAddon()?.openPacketSocket !== 'function'
    ? 'native addon not built with AF_PACKET support (npm run build:native)'
    : false;

const tmpDir = tempDirsRemovedAfterTests();
const pairs: VethPair[] = [];
const namespaces: string[] = [];
const openFds = new Set<number>();

after(async () => {
  for (const fd of openFds) closePacketSocket(fd);
  for (const p of pairs) await p.destroy();
  for (const ns of namespaces) await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
});

async function newPair(): Promise<VethPair> {
  const p = await createVethPair();
  pairs.push(p);
  return p;
}

function liveIface(name: string): CaptureInterface {
  return { id: 0, linkType: 1, snapLen: SNAP_LEN, tsPrecision: 'ns', name };
}

async function writePcap(tag: string, frames: Buffer[]): Promise<string> {
  const path = join(await tmpDir(`afp-${tag}`), 'sent.pcap');
  const records = frames.map((data, i) => ({ sec: 1_700_000_000, sub: i, data }));
  await writeFile(path, pcapFile({ records, snapLen: SNAP_LEN }));
  return path;
}

/** The frames `tcpdump -r` selects from `pcap` with `expr`, as tcpdump writes them back. */
async function tcpdumpSelect(pcap: string, expr: string): Promise<Buffer[]> {
  const out = `${pcap}.${String(Math.random()).slice(2)}.pcap`;
  const r = await run('tcpdump', ['-n', '-r', pcap, '-w', out, expr]);
  assert.equal(r.code, 0, r.stderr);
  return readPcap(out).records.map((rec) => Buffer.from(rec.data));
}

interface Captured {
  bytes: Buffer;
  origLen: number;
  tsSec: number;
  tsNsec: number;
}

interface Capture {
  socket: AfPacketSocket;
  ring: AfPacketRing;
  frames: Captured[];
}

function openCapture(
  iface: string,
  over: Partial<AfPacketOpenOptions> = {},
  snapLen = SNAP_LEN,
): Capture {
  const socket = openAfPacketSocket({
    iface,
    ...RING,
    promisc: false,
    fanoutGroup: -1,
    filter: null,
    ...over,
  });
  openFds.add(socket.fd);
  const ring = new AfPacketRing({
    fd: socket.fd,
    blockSize: RING.blockSize,
    blockCount: RING.blockCount,
    snapLen,
    iface: { ...liveIface(iface), snapLen },
  });
  return { socket, ring, frames: [] };
}

function closeCapture(c: Capture): void {
  c.ring.close();
  closePacketSocket(c.socket.fd);
  openFds.delete(c.socket.fd);
}

/** Copies every frame (they are borrowed from the ring). */
function collector(c: Capture): { onFrame(f: FrameView): void } {
  return {
    onFrame(f) {
      c.frames.push({
        bytes: Buffer.from(f.data.subarray(f.offset, f.offset + f.capLen)),
        origLen: f.origLen,
        tsSec: f.tsSec,
        tsNsec: f.tsNsec,
      });
    },
  };
}

/**
 * Replays `pcap` while reading the rings in turn (short waits on this thread, yielding to the
 * event loop between rounds), until `expected` frames arrived overall and all rings stay quiet,
 * then drains what is left. Bounded: gives up after 20 s (the counts then tell what is missing).
 */
async function captureReplay(
  pair: VethPair,
  pcap: string,
  captures: Capture[],
  expected: number,
): Promise<{ t0Ms: number; t1Ms: number }> {
  const consumers = captures.map(collector);
  const total = (): number => captures.reduce((n, c) => n + c.frames.length, 0);
  const t0Ms = Date.now();
  const replaying = replay(pair, pcap);
  const deadline = t0Ms + 20_000;
  let quietRounds = 0;
  while (Date.now() < deadline && quietRounds < 3) {
    let got = 0;
    for (const [i, c] of captures.entries()) {
      got += Math.max(0, c.ring.pollBlock(20, consumers[i]!));
    }
    quietRounds = got === 0 && total() >= expected ? quietRounds + 1 : 0;
    await new Promise(setImmediate);
  }
  await replaying; // throws when tcpreplay failed to send any frame
  const t1Ms = Date.now();
  for (const [i, c] of captures.entries()) {
    for (let n = 0; n < 1000 && c.ring.pollBlock(50, consumers[i]!) >= 0; n++);
  }
  return { t0Ms, t1Ms };
}

function assertTapgateError(code: ErrorCode, message?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(isTapgateError(e), `TapgateError expected, got ${String(e)}`);
    assert.equal(e.code, code);
    if (message) assert.match(e.message, message);
    return true;
  };
}

/** An Ethernet/IPv4/UDP frame behind the given (tpid, tci) tags, outermost first. */
function vlanFrame(tags: [number, number][], seed: number): Buffer {
  const data = [seed & 0xff, 0xa5, 0x5a, 0x01];
  const udp = udpHeader(10000 + seed, 9999, data.length);
  const ip = ipv4Header('10.0.0.1', '10.0.0.2', 17, udp.length + data.length, { id: seed });
  const tagBytes = tags.flatMap(([tpid, tci]) => [tpid >> 8, tpid & 255, tci >> 8, tci & 255]);
  return Buffer.from([
    2,
    0,
    0,
    0,
    0,
    1,
    2,
    0,
    0,
    0,
    0,
    2,
    ...tagBytes,
    8,
    0,
    ...ip,
    ...udp,
    ...data,
  ]);
}

describe('AF_PACKET TPACKET_V3 engine', { skip, timeout: 120_000 }, () => {
  test('every frame arrives once, in order, byte-identical, with nanosecond timestamps', async () => {
    const pair = await newPair();
    const sent = Array.from({ length: 500 }, (_, i) => ethernetFrame(60 + ((i * 97) % 1400), i));
    const pcap = await writePcap('ordered', sent);
    const c = openCapture(pair.outside);
    assert.equal(c.socket.linkType, 1);
    const ifBefore = readInterfaceCounters(pair.outside);
    const { t0Ms, t1Ms } = await captureReplay(pair, pcap, [c], sent.length);
    const stats = readPacketSocketStats(c.socket.fd);
    const ifAfter = readInterfaceCounters(pair.outside);
    closeCapture(c);

    assert.equal(c.frames.length, sent.length);
    for (const [i, f] of c.frames.entries()) {
      assert.ok(f.bytes.equals(sent[i]!), `frame ${i} differs`);
      assert.equal(f.origLen, sent[i]!.length);
    }
    let prevNs = 0n;
    for (const f of c.frames) {
      assert.ok(f.tsNsec >= 0 && f.tsNsec < 1e9);
      const ms = f.tsSec * 1000 + f.tsNsec / 1e6;
      assert.ok(ms >= t0Ms - 5 && ms <= t1Ms + 5, `timestamp ${ms} outside [${t0Ms}, ${t1Ms}]`);
      const ns = BigInt(f.tsSec) * 1_000_000_000n + BigInt(f.tsNsec);
      assert.ok(ns >= prevNs, 'timestamps never go back');
      prevNs = ns;
    }
    assert.ok(
      c.frames.some((f) => f.tsNsec % 1000 !== 0),
      'nanosecond resolution, not microseconds',
    );
    assert.deepEqual(stats, { packets: sent.length, drops: 0, freezes: 0 });
    assert.equal(c.ring.stats.packets, sent.length);
    assert.ok(c.ring.stats.blocks >= 1);
    assert.equal(c.ring.stats.vlanTagsRestored, 0);
    assert.equal(ifAfter.rxPackets - ifBefore.rxPackets, sent.length);
    assert.equal(ifAfter.rxDropped - ifBefore.rxDropped, 0);
    assert.equal(ifAfter.rxMissedErrors, ifBefore.rxMissedErrors);
  });

  test('VLAN tags the kernel strips come back byte-identical; vlan filters see them', async () => {
    const pair = await newPair();
    const patterns: [number, number][][] = [
      [[0x8100, 100]],
      [
        [0x88a8, 100],
        [0x8100, 101],
      ], // QinQ, 802.1ad outer
      [
        [0x8100, 100],
        [0x8100, 101],
      ], // QinQ, 802.1Q outer
      [[0x8100, 0x6000]], // priority tag: VLAN 0, PCP 3
      [[0x8100, 0]], // VLAN 0, PCP 0: only TP_STATUS_VLAN_TPID_VALID tells it was there
      [[0x8100, 0xe064]], // VLAN 100 with PCP 7
      [], // untagged
    ];
    const sent: Buffer[] = [];
    for (let round = 0; round < 10; round++) {
      for (const tags of patterns) sent.push(vlanFrame(tags, sent.length));
    }
    const tagged = sent.filter((_, i) => patterns[i % patterns.length]!.length > 0).length;
    const pcap = await writePcap('vlan', sent);
    const expr = 'vlan 100 and udp';
    const expectedVlan = await tcpdumpSelect(pcap, expr);
    assert.ok(expectedVlan.length > 0 && expectedVlan.length < sent.length);

    const all = openCapture(pair.outside);
    const live = openCapture(pair.outside, {
      filter: compileCaptureFilter(expr, 1, SNAP_LEN, pair.outside),
    });
    // Compiled for capture-file bytes: it looks for the tag where the kernel no longer has it.
    const fileCompiled = openCapture(pair.outside, {
      filter: compileCaptureFilter(expr, 1, SNAP_LEN, null),
    });
    await captureReplay(pair, pcap, [all, live, fileCompiled], sent.length + expectedVlan.length);
    for (const c of [all, live, fileCompiled]) closeCapture(c);

    assert.equal(all.frames.length, sent.length);
    for (const [i, f] of all.frames.entries()) {
      assert.equal(f.bytes.toString('hex'), sent[i]!.toString('hex'), `frame ${i}`);
      assert.equal(f.origLen, sent[i]!.length);
    }
    assert.equal(all.ring.stats.vlanTagsRestored, tagged);
    assert.deepEqual(
      live.frames.map((f) => f.bytes.toString('hex')),
      expectedVlan.map((b) => b.toString('hex')),
    );
    assert.equal(fileCompiled.frames.length, 0);
  });

  test('snapLen cuts frames, restored VLAN tags included; origLen stays the wire length', async () => {
    const pair = await newPair();
    const sent: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      sent.push(ethernetFrame(200 + i, i));
      sent.push(vlanFrame([[0x8100, 100 + i]], 100 + i));
      sent.push(
        vlanFrame(
          [
            [0x8100, 7],
            [0x8100, 8],
          ],
          200 + i,
        ),
      );
    }
    const pcap = await writePcap('snaplen', sent);
    const snapLen = 64;
    // Cut in JS only, and cut by the kernel too (a filter returns the snapshot length).
    const plain = openCapture(pair.outside, {}, snapLen);
    const filtered = openCapture(
      pair.outside,
      { filter: compileInterfaceFilter('udp or vlan', pair.outside, snapLen) },
      snapLen,
    );
    await captureReplay(pair, pcap, [plain, filtered], 2 * sent.length);
    for (const c of [plain, filtered]) closeCapture(c);
    for (const c of [plain, filtered]) {
      assert.equal(c.frames.length, sent.length);
      for (const [i, f] of c.frames.entries()) {
        assert.equal(f.bytes.toString('hex'), sent[i]!.subarray(0, snapLen).toString('hex'));
        assert.equal(f.origLen, sent[i]!.length);
      }
    }
  });

  test('promiscuous mode is on while the socket is open, and off after close', async () => {
    const pair = await newPair();
    assert.equal(await promiscuity(pair.outside), 0);
    const plain = openCapture(pair.outside, { promisc: false });
    assert.equal(await promiscuity(pair.outside), 0);
    closeCapture(plain);

    // To a unicast MAC that is not the interface's own.
    const sent = Array.from({ length: 20 }, (_, i) => ethernetFrame(100, i));
    const ownMac = (await exec('cat', [`/sys/class/net/${pair.outside}/address`])).stdout.trim();
    assert.notEqual(ownMac, '00:01:02:03:04:05');
    const pcap = await writePcap('promisc', sent);
    const c = openCapture(pair.outside, { promisc: true });
    assert.ok((await promiscuity(pair.outside)) >= 1);
    await captureReplay(pair, pcap, [c], sent.length);
    closeCapture(c);
    assert.deepEqual(
      c.frames.map((f) => f.bytes.toString('hex')),
      sent.map((b) => b.toString('hex')),
    );
    assert.equal(await promiscuity(pair.outside), 0);
  });

  test('a compiled filter captures exactly what tcpdump selects from the same frames', async () => {
    const pair = await newPair();
    const sent: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const data = [i, 0x11, 0x22];
      sent.push(Buffer.from(udp4('10.0.0.1', 5000 + i, '10.0.0.9', 53, data)));
      sent.push(Buffer.from(udp4('10.0.0.9', 53, '10.0.0.1', 5000 + i, data)));
      sent.push(Buffer.from(udp4('10.0.0.1', 5000 + i, '10.0.0.9', 5353, data)));
      sent.push(Buffer.from(tcp4('10.0.0.1', 6000 + i, '10.0.0.2', 80, F.SYN)));
      sent.push(Buffer.from(tcp4('10.0.0.2', 80, '10.0.0.1', 6000 + i, F.SYN | F.ACK)));
      sent.push(Buffer.from(tcp4('10.0.0.3', 6000 + i, '10.0.0.4', 443, F.ACK, data)));
      sent.push(Buffer.from(tcp6('fd00::1', 7000 + i, 'fd00::2', 53, F.SYN)));
    }
    const pcap = await writePcap('filter', sent);
    const exprs = ['udp port 53', 'tcp and host 10.0.0.2', 'ip6 or (udp and not port 53)'];
    const expected = await Promise.all(exprs.map((e) => tcpdumpSelect(pcap, e)));
    const captures = exprs.map((e) =>
      openCapture(pair.outside, {
        filter: compileCaptureFilter(e, 1, SNAP_LEN, pair.outside),
      }),
    );
    // Compiled for the interface by its name (link type from sysfs): the same program.
    const byName = compileInterfaceFilter(exprs[0]!, pair.outside, SNAP_LEN);
    assert.deepEqual(byName, compileCaptureFilter(exprs[0]!, 1, SNAP_LEN, pair.outside));
    captures.push(openCapture(pair.outside, { filter: byName }));
    expected.push(expected[0]!);
    const total = expected.reduce((n, x) => n + x.length, 0);
    await captureReplay(pair, pcap, captures, total);
    for (const [i, c] of captures.entries()) {
      const stats = readPacketSocketStats(c.socket.fd);
      closeCapture(c);
      assert.ok(expected[i]!.length > 0);
      assert.deepEqual(
        c.frames.map((f) => f.bytes.toString('hex')),
        expected[i]!.map((b) => b.toString('hex')),
        exprs[i % exprs.length],
      );
      assert.equal(stats.packets, expected[i]!.length, `${exprs[i % exprs.length]!}: kernel count`);
    }
  });

  test("a filter syntax error is TG_ERR_FILTER with libpcap's message", () => {
    for (const iface of ['lo', null]) {
      assert.throws(
        () => compileCaptureFilter('tcp and (', 1, SNAP_LEN, iface),
        assertTapgateError('TG_ERR_FILTER', /syntax error/),
      );
    }
    assert.equal(compileCaptureFilter('  ', 1, SNAP_LEN, 'lo'), null);
    const prog = compileCaptureFilter('udp', 101, SNAP_LEN, null);
    assert.ok(prog !== null && prog.length > 0 && prog.length % 8 === 0);
  });

  test('fanout: every frame lands once, and both directions of a flow on the same socket', async () => {
    const pair = await newPair();
    const sent: Buffer[] = [];
    const flowOf = new Map<string, number>();
    const flows: ((dir: number, k: number) => number[])[] = [];
    for (let i = 0; i < 24; i++) {
      const [a, b] = [`10.1.${i}.1`, `10.2.${i}.2`];
      flows.push((dir, k) =>
        dir === 0
          ? tcp4(a, 40000 + i, b, 443, F.ACK, [k, i])
          : tcp4(b, 443, a, 40000 + i, F.ACK, [k, i]),
      );
    }
    for (let i = 0; i < 12; i++) {
      flows.push((dir, k) =>
        dir === 0
          ? udp4('10.3.0.1', 30000 + i, '10.4.0.1', 53, [k, i])
          : udp4('10.4.0.1', 53, '10.3.0.1', 30000 + i, [k, i]),
      );
    }
    for (let i = 0; i < 8; i++) {
      flows.push((dir, k) =>
        dir === 0
          ? tcp6('fd00:1::1', 50000 + i, `fd00:2::${i + 1}`, 80, F.ACK, [k, i])
          : tcp6(`fd00:2::${i + 1}`, 80, 'fd00:1::1', 50000 + i, F.ACK, [k, i]),
      );
    }
    for (let k = 0; k < 6; k++) {
      for (const [id, make] of flows.entries()) {
        const frame = Buffer.from(make(k % 2, k));
        sent.push(frame);
        flowOf.set(frame.toString('hex'), id);
      }
    }
    assert.equal(flowOf.size, sent.length, 'frames are distinct');
    const pcap = await writePcap('fanout', sent);
    const group = 10000 + (process.pid % 50000);
    const captures = [0, 1].map(() => openCapture(pair.outside, { fanoutGroup: group }));
    await captureReplay(pair, pcap, captures, sent.length);
    const drops = captures.map((c) => readPacketSocketStats(c.socket.fd).drops);
    for (const c of captures) closeCapture(c);

    const got = captures.flatMap((c) => c.frames.map((f) => f.bytes.toString('hex')));
    assert.deepEqual(got.slice().sort(), sent.map((b) => b.toString('hex')).sort());
    const socketsOfFlow = new Map<number, Set<number>>();
    for (const [s, c] of captures.entries()) {
      for (const f of c.frames) {
        const id = flowOf.get(f.bytes.toString('hex'))!;
        socketsOfFlow.set(id, (socketsOfFlow.get(id) ?? new Set()).add(s));
      }
    }
    for (const [id, socks] of socketsOfFlow) assert.equal(socks.size, 1, `flow ${id} was split`);
    assert.ok(
      captures.every((c) => c.frames.length > 0),
      'the hash spreads flows over both sockets',
    );
    assert.deepEqual(drops, [0, 0]);
  });

  test('unknown interface → TG_ERR_INTERFACE; bad ring geometry → TypeError', () => {
    const base: AfPacketOpenOptions = {
      iface: 'lo',
      ...RING,
      promisc: false,
      fanoutGroup: -1,
      filter: null,
    };
    const noSuch = 'tgnosuch0';
    assert.throws(
      () => openAfPacketSocket({ ...base, iface: noSuch }),
      assertTapgateError('TG_ERR_INTERFACE', /^no such interface: tgnosuch0$/),
    );
    assert.throws(() => interfaceLinkType(noSuch), assertTapgateError('TG_ERR_INTERFACE'));
    assert.throws(() => readInterfaceCounters(noSuch), assertTapgateError('TG_ERR_INTERFACE'));
    assert.throws(() => readInterfaceCounters('../lo'), assertTapgateError('TG_ERR_INTERFACE'));
    assert.equal(interfaceLinkType('lo'), 1);

    const bad: Partial<AfPacketOpenOptions>[] = [
      { blockSize: 3000 }, // not a multiple of the page size
      { blockSize: 12288 }, // not a power of two
      { blockSize: 0 },
      { blockCount: 0 },
      { blockCount: 1.5 },
      { blockTimeoutMs: -1 },
      { fanoutGroup: 65536 },
      { fanoutGroup: -2 },
      { filter: Buffer.alloc(12) }, // not whole sock_filter structs
    ];
    for (const over of bad) {
      assert.throws(
        () => openAfPacketSocket({ ...base, ...over }),
        TypeError,
        JSON.stringify(over),
      );
    }

    // The ring must be mapped with the geometry the socket was opened with.
    const s = openAfPacketSocket(base);
    openFds.add(s.fd);
    try {
      assert.equal(s.linkType, 1);
      assert.throws(
        () =>
          new AfPacketRing({
            fd: s.fd,
            blockSize: RING.blockSize,
            blockCount: RING.blockCount * 2,
            snapLen: SNAP_LEN,
            iface: liveIface('lo'),
          }),
        { code: 'EINVAL' },
      );
      const ring = new AfPacketRing({
        fd: s.fd,
        blockSize: RING.blockSize,
        blockCount: RING.blockCount,
        snapLen: SNAP_LEN,
        iface: liveIface('lo'),
      });
      ring.close();
      ring.close();
      assert.throws(() => ring.pollBlock(0, { onFrame() {} }), /closed/);
    } finally {
      closePacketSocket(s.fd);
      openFds.delete(s.fd);
    }
  });

  test('without CAP_NET_RAW → TG_ERR_CAPTURE_PERMISSION; filters compile without a live handle', async () => {
    // The same calls as an unprivileged user (nobody), through setpriv.
    const script = `
      import { openAfPacketSocket, compileCaptureFilter } from './src/capture/af-packet-socket.ts';
      const out = {};
      try {
        openAfPacketSocket({ iface: 'lo', blockSize: 65536, blockCount: 4, blockTimeoutMs: 10,
          promisc: false, fanoutGroup: -1, filter: null });
      } catch (e) {
        out.code = e.code;
        out.message = e.message;
      }
      out.filter = compileCaptureFilter('vlan 100', 1, 65535, 'lo').toString('hex');
      console.log(JSON.stringify(out));`;
    const { stdout } = await exec(
      'setpriv',
      [
        ...['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath],
        ...['--import', 'tsx', '--input-type=module', '-e', script],
      ],
      { cwd: REPO, env: { ...process.env, HOME: '/tmp' }, timeout: 20_000 },
    );
    assert.deepEqual(JSON.parse(stdout), {
      code: 'TG_ERR_CAPTURE_PERMISSION',
      message: 'live capture on lo needs root or CAP_NET_RAW + CAP_NET_ADMIN',
      // No live handle without privileges: the program is the one for capture-file bytes.
      filter: compileCaptureFilter('vlan 100', 1, 65535, null)!.toString('hex'),
    });
    assert.notEqual(
      compileCaptureFilter('vlan 100', 1, 65535, 'lo')!.toString('hex'),
      compileCaptureFilter('vlan 100', 1, 65535, null)!.toString('hex'),
    );
  });

  test('a worker thread maps the ring of a socket opened on the main thread', async () => {
    const pair = await newPair();
    const sent = Array.from({ length: 200 }, (_, i) => ethernetFrame(64 + i, 1000 + i));
    const pcap = await writePcap('worker', sent);
    const socket = openAfPacketSocket({
      iface: pair.outside,
      ...RING,
      promisc: false,
      fanoutGroup: -1,
      filter: null,
    });
    openFds.add(socket.fd);
    const worker = new Worker(
      `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(WORKER_URL)}); })`,
      {
        eval: true,
        workerData: {
          fd: socket.fd,
          blockSize: RING.blockSize,
          blockCount: RING.blockCount,
          snapLen: SNAP_LEN,
          iface: liveIface(pair.outside),
          expect: sent.length,
          deadlineMs: 15_000,
        },
      },
    );
    interface Done {
      type: 'done';
      frames: Uint8Array[];
      stats: { blocks: number; packets: number };
    }
    let onReady = (): void => undefined;
    const ready = new Promise<void>((resolve) => (onReady = resolve));
    const done = new Promise<Done>((resolve, reject) => {
      worker.on('message', (m: { type: 'ready' } | Done) => {
        if (m.type === 'ready') onReady();
        else resolve(m);
      });
      worker.on('error', reject);
      worker.on('exit', (code) => {
        reject(new Error(`worker exited (${code}) before reporting`));
      });
    });
    try {
      await Promise.race([ready, done]);
      await replay(pair, pcap);
      const result = await done;
      assert.equal(result.frames.length, sent.length);
      for (const [i, f] of result.frames.entries()) {
        assert.ok(Buffer.from(f).equals(sent[i]!), `frame ${i}`);
      }
      assert.equal(result.stats.packets, sent.length);
      assert.deepEqual(readPacketSocketStats(socket.fd), {
        packets: sent.length,
        drops: 0,
        freezes: 0,
      });
    } finally {
      await worker.terminate();
      closePacketSocket(socket.fd);
      openFds.delete(socket.fd);
    }
  });
});

describe('originalDst', { skip, timeout: 60_000 }, () => {
  async function newNamespace(tag: string): Promise<string> {
    const ns = `tapgate-odst-${String(process.pid % 100000)}-${tag}`;
    await exec('ip', ['netns', 'add', ns]);
    namespaces.push(ns);
    await exec('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  interface ProbeLine {
    target: string;
    originalDst: OriginalDst | null;
  }

  async function probe(
    ns: string,
    host: string,
    port: number,
    targets: string[],
  ): Promise<ProbeLine[]> {
    const { stdout } = await exec(
      'ip',
      [
        'netns',
        'exec',
        ns,
        process.execPath,
        '--import',
        'tsx',
        PROBE,
        host,
        String(port),
        ...targets,
      ],
      { cwd: REPO, timeout: 20_000 },
    );
    return stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as ProbeLine);
  }

  test('IPv4: the address a REDIRECT rewrote; the local address when nothing was rewritten', async () => {
    const ns = await newNamespace('v4');
    // A route for 10.77.0.0/24, so that connect() to 10.77.0.2 gets as far as the nat table.
    await exec('ip', ['-n', ns, 'link', 'add', 'tga', 'type', 'veth', 'peer', 'name', 'tgb']);
    await exec('ip', ['-n', ns, 'addr', 'add', '10.77.0.1/24', 'dev', 'tga']);
    await exec('ip', ['-n', ns, 'link', 'set', 'tga', 'up']);
    await exec('ip', ['-n', ns, 'link', 'set', 'tgb', 'up']);
    const port = 18080;
    await exec('ip', [
      ...['netns', 'exec', ns, 'iptables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp'],
      ...['-d', '10.77.0.2', '--dport', '80', '-j', 'REDIRECT', '--to-ports', String(port)],
    ]);
    const lines = await probe(ns, '127.0.0.1', port, ['10.77.0.2:80', `127.0.0.1:${port}`]);
    assert.deepEqual(lines, [
      { target: '10.77.0.2:80', originalDst: { family: 4, address: '10.77.0.2', port: 80 } },
      // Tracked by conntrack but not rewritten: the original destination is the socket's own.
      {
        target: `127.0.0.1:${port}`,
        originalDst: { family: 4, address: '127.0.0.1', port },
      },
      { target: 'listener', originalDst: null },
    ]);
  });

  test('a connection conntrack does not track → null', async () => {
    // No NAT rule in this namespace, so conntrack is not hooked into it.
    const ns = await newNamespace('plain');
    const port = 18082;
    const lines = await probe(ns, '127.0.0.1', port, [`127.0.0.1:${port}`]);
    assert.deepEqual(lines, [
      { target: `127.0.0.1:${port}`, originalDst: null },
      { target: 'listener', originalDst: null },
    ]);
  });

  test('IPv6: the address an ip6tables REDIRECT rewrote', async (t) => {
    const ns = await newNamespace('v6');
    await exec('ip', ['-n', ns, 'link', 'add', 'tga', 'type', 'veth', 'peer', 'name', 'tgb']);
    await exec('ip', ['-n', ns, 'addr', 'add', 'fd00:77::1/64', 'dev', 'tga', 'nodad']);
    await exec('ip', ['-n', ns, 'link', 'set', 'tga', 'up']);
    await exec('ip', ['-n', ns, 'link', 'set', 'tgb', 'up']);
    const port = 18081;
    try {
      await exec('ip', [
        ...['netns', 'exec', ns, 'ip6tables', '-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp'],
        ...['-d', 'fd00:77::2', '--dport', '80', '-j', 'REDIRECT', '--to-ports', String(port)],
      ]);
    } catch (e) {
      t.skip(`ip6tables nat is not available: ${String(e)}`);
      return;
    }
    const lines = await probe(ns, '::1', port, ['[fd00:77::2]:80']);
    assert.deepEqual(lines, [
      { target: '[fd00:77::2]:80', originalDst: { family: 6, address: 'fd00:77::2', port: 80 } },
      { target: 'listener', originalDst: null },
    ]);
  });

  test('a bad fd throws with the errno name', () => {
    const addon = nativeAddon()!;
    assert.throws(() => addon.originalDst(1 << 20), { code: 'EBADF' });
  });
});
