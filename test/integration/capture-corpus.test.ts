/**
 * Every capture of the shared corpus through the whole pipeline, with the real tcpdump and tshark
 * checking what was written: zero errors and exactly the packets tshark counts in the input.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { resolveCaptureConfig } from '../../src/config/capture-config.ts';
import { runCapture } from '../../src/capture/run-capture.ts';
import { corpusDir } from '../helpers/cli.ts';
import { readPcap, tcpdumpCount, tsharkCount } from '../helpers/pcap-file.ts';

const work = mkdtempSync(join(tmpdir(), 'tapgate-corpus-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

const captures = readdirSync(join(corpusDir, 'captures')).filter((f) => !f.endsWith('.keys'));

interface CapInfo {
  packets: number;
  dlt: number[];
  snaplen: number[];
  ts_resolution: string;
}

function finishedFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.pcap(\.gz)?$/.test(f) && !f.split('/').pop()!.startsWith('.'))
    .map((f) => join(dir, f))
    .sort();
}

for (const name of captures) {
  test(`corpus ${name}: read without error, written whole, checked by tcpdump and tshark`, async () => {
    const info = JSON.parse(
      readFileSync(
        join(corpusDir, 'expected', name.replace(/\.[^.]+$/, '') + '.capinfo.jsonl'),
        'utf8',
      ),
    ) as CapInfo;
    for (const compress of [false, true]) {
      const out = mkdtempSync(join(work, 'out-'));
      const s = await runCapture(
        resolveCaptureConfig({
          input: join(corpusDir, 'captures', name),
          outDir: out,
          compress,
          cutoff: { bytes: 0, packets: 0 },
          rotateIntervalSec: 0,
        }),
      );
      assert.equal(s.flow.packets, info.packets, 'packets read');
      assert.equal(s.flow.packetsWritten, info.packets, 'packets written');
      assert.deepEqual(s.source.errors, {}, 'no read errors');
      const files = finishedFiles(out);
      assert.equal(files.length, new Set(info.dlt).size, 'one stream per link type');
      let tcpdumpTotal = 0;
      let tsharkTotal = 0;
      for (const f of files) {
        tcpdumpTotal += tcpdumpCount(f);
        tsharkTotal += tsharkCount(f);
        const p = readPcap(f);
        assert.ok(info.dlt.includes(p.linkType), `link type ${p.linkType} of ${f}`);
        assert.equal(p.nanos, info.ts_resolution === 'ns', 'timestamp resolution kept');
        if (compress) execFileSync('gzip', ['-t', f]);
      }
      assert.equal(tcpdumpTotal, info.packets);
      assert.equal(tsharkTotal, info.packets);
    }
  });
}

test('single-link-type captures come out byte for byte (frames and timestamps)', async () => {
  const name = 'zk-http-vlan.pcap';
  const out = mkdtempSync(join(work, 'out-'));
  await runCapture(
    resolveCaptureConfig({
      input: join(corpusDir, 'captures', name),
      outDir: out,
      cutoff: { bytes: 0, packets: 0 },
      rotateIntervalSec: 0,
    }),
  );
  const a = readPcap(join(corpusDir, 'captures', name));
  const [file] = finishedFiles(out);
  const b = readPcap(file!);
  assert.equal(b.snapLen, a.snapLen);
  assert.equal(b.records.length, a.records.length);
  a.records.forEach((r, i) => {
    const w = b.records[i]!;
    assert.ok(r.data.equals(w.data) && r.tsSec === w.tsSec && r.tsFrac === w.tsFrac, `frame ${i}`);
  });
  // 802.1Q tags are still in the written frames.
  assert.equal(b.records[0]!.data.readUInt16BE(12), 0x8100);
});
