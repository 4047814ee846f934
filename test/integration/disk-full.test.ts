/**
 * Issue 7, disk full: a live capture writes gzip pcaps into a small tmpfs the test mounts, and a
 * ballast file takes nearly all of it. tapgate must keep capturing, count the failed writes and
 * the packets it could not store, open no new file while the disk is full, and, once the ballast
 * is gone, salvage what the failed files held and write again, leaving only valid files.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startCli } from '../helpers/cli.ts';
import { writeFloodCapture } from '../helpers/flood-capture.ts';
import { canUseNetns, createVethPair, replay, type VethPair } from '../helpers/netns.ts';

interface OutputStats {
  packetsWritten: number;
  packetsDropped: number;
  packetsLost: number;
  filesClosed: number;
  writeErrors: number;
  diskFullEvents: number;
  diskFull: boolean;
  diskFullDeletedFiles: number;
  salvagePending: number;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f));
}

/** Packets in a finished gzip pcap, read by zcat and tcpdump (throws if either fails). */
function packetsIn(file: string): number {
  const pcap = execFileSync('gzip', ['-dc', file], { maxBuffer: 256 << 20 });
  const text = execFileSync('tcpdump', ['-nn', '-r', '-'], {
    input: pcap,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  return text.split('\n').filter((l) => l !== '').length;
}

describe('pcap output on a full disk', { skip: !canUseNetns && 'needs root' }, () => {
  const work = mkdtempSync(join(tmpdir(), 'tapgate-diskfull-'));
  const disk = join(work, 'disk');
  const capture = join(work, 'traffic.pcap');
  let pair: VethPair;

  before(async () => {
    mkdirSync(disk);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', disk]);
    // SYNs compress ~7:1: a few MB of gzip per replay, enough to fill what the ballast leaves.
    writeFloodCapture(capture, {
      synFlows: 300_000,
      longFlows: 4,
      segmentBytes: 1000,
      synsPerSegment: 50,
    });
    pair = await createVethPair({ mtu: 1500 });
  });
  after(async () => {
    await pair.destroy();
    execFileSync('umount', [disk]);
    rmSync(work, { recursive: true, force: true });
  });

  /** Live capture into the tmpfs around `during()`, then SIGINT: the output stats. */
  async function captureWhile(extra: string[], during: () => Promise<void>): Promise<OutputStats> {
    const cli = startCli([
      'capture',
      '-i',
      pair.outside,
      '-w',
      out,
      '--compress',
      '--rotate-size',
      '512k',
      '--rotate-interval',
      '0',
      '--json',
      ...extra,
    ]);
    await cli.waitForStderr(/capturing on/);
    await during();
    await new Promise((r) => setTimeout(r, 500));
    cli.kill('SIGINT');
    const r = await cli.done;
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { output: OutputStats }).output;
  }

  /** Every file left is a finished, valid gzip pcap; returns the packets they hold. */
  function storedPackets(): number {
    const files = filesUnder(out).filter((f) => /\.pcap\.gz/.test(f));
    assert.deepEqual(
      files.filter((f) => !f.endsWith('.pcap.gz')),
      [],
      'no temporaries or unrecoverable files left',
    );
    let stored = 0;
    for (const f of files) stored += packetsIn(f);
    return stored;
  }

  /** Capture time of the newest packet stored (epoch seconds). */
  function newestPacketSec(): number {
    let newest = 0;
    for (const f of filesUnder(out).filter((p) => p.endsWith('.pcap.gz'))) {
      const text = execFileSync(
        'sh',
        ['-c', 'gzip -dc "$0" | tcpdump -tt -nn -r - 2>/dev/null | tail -1', f],
        {
          encoding: 'utf8',
        },
      );
      newest = Math.max(newest, Number(text.split(' ')[0]));
    }
    return newest;
  }

  const out = join(disk, 'pcap');
  const ballast = join(disk, 'ballast');

  test('capture goes on, drops are counted, and writing resumes when space returns', async () => {
    execFileSync('fallocate', ['-l', '29M', ballast]); // ~3 MB left
    const o = await captureWhile([], async () => {
      await replay(pair, capture, { pps: 100_000 }); // ~3 s: fills the disk
      await new Promise((r) => setTimeout(r, 1500));
      rmSync(ballast); // space returns; the next tick sees it
      await new Promise((r) => setTimeout(r, 2500));
      await replay(pair, capture, { pps: 100_000 }); // written again
    });
    assert.equal(o.diskFullEvents, 1);
    assert.equal(o.diskFull, false, 'space came back');
    assert.ok(o.writeErrors > 0, 'the failed writes are counted');
    assert.ok(o.packetsDropped + o.packetsLost > 0, 'what could not be stored is counted');
    assert.equal(o.salvagePending, 0, 'the failed temporaries were salvaged once space returned');
    assert.equal(o.diskFullDeletedFiles, 0, 'without retention no file is deleted');
    const stored = storedPackets();
    assert.equal(stored, o.packetsWritten - o.packetsLost);
    assert.ok(stored > 300_000, `the second replay was stored (${stored} packets)`);
  });

  test('with retention, the oldest files make room and the newest traffic is kept', async () => {
    rmSync(out, { recursive: true, force: true });
    execFileSync('fallocate', ['-l', '24M', ballast]); // ~8 MB left, retention allows 20 MB
    let lastReplaySec = 0;
    const o = await captureWhile(['--retain-size', '20M'], async () => {
      for (let i = 0; i < 3; i++) {
        lastReplaySec = Date.now() / 1000;
        await replay(pair, capture, { pps: 150_000 });
      }
    });
    rmSync(ballast);
    assert.ok(o.diskFullEvents >= 1, 'the disk filled up');
    assert.ok(o.diskFullDeletedFiles > 0, 'retention deleted early to make room');
    const stored = storedPackets();
    // What is on disk was written and not lost; retention took the oldest of it.
    assert.ok(stored > 0 && stored <= o.packetsWritten - o.packetsLost);
    // The newest traffic is kept: packets of the last replay are on disk.
    assert.ok(newestPacketSec() >= lastReplaySec, 'the last replay was stored');
  });
});
