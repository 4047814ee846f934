/**
 * The cutoff, packet for packet, against an independent model on the benchmark generator's
 * synthetic capture, whose JSON sidecar is the ground truth for flows and directions.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { resolveCaptureConfig, type CaptureConfigPatch } from '../../src/config/capture-config.ts';
import { runCapture } from '../../src/capture/run-capture.ts';
import { readPcap, tcpdumpCount, type TestRecord } from '../helpers/pcap-file.ts';

const GEN = join(import.meta.dirname, '../../../shared/bench/gen_pcap.py');
let dir = '';
let input = '';
let frames: TestRecord[] = [];
interface TruthFlow {
  c: string;
  s: string;
  cport: number;
  sport: number;
  req: number;
  resp: number;
  pkts_c2s: number;
  pkts_s2c: number;
}
let truth: TruthFlow[] = [];

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tapgate-cutoff-'));
  input = join(dir, 'synth.pcap');
  execFileSync('python3', [
    GEN, '--out', input, '--flows', '150', '--udp', '40', '--elephants', '2',
    '--eleph-min-mb', '0.5', '--eleph-max-mb', '1', '--seed', '7',
  ]); // prettier-ignore
  frames = readPcap(input).records;
  truth = (JSON.parse(readFileSync(`${input}.json`, 'utf8')) as { flows: TruthFlow[] }).flows;
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** What the model needs of a frame: endpoints, protocol, flags and payload length. */
function parse(f: Buffer) {
  const ihl = (f[14]! & 15) * 4;
  const proto = f[23]!;
  const src = `${f[26]}.${f[27]}.${f[28]}.${f[29]}:${f.readUInt16BE(14 + ihl)}`;
  const dst = `${f[30]}.${f[31]}.${f[32]}.${f[33]}:${f.readUInt16BE(14 + ihl + 2)}`;
  const ipLen = f.readUInt16BE(16);
  const l4 = proto === 6 ? (f[14 + ihl + 12]! >> 4) * 4 : 8;
  const flags = proto === 6 ? f[14 + ihl + 13]! : 0;
  return { src, dst, proto, flags, payload: ipLen - ihl - l4 };
}

interface ModelClass {
  port?: number;
  proto?: number;
  bytes: number;
  packets: number;
}

/** Indexes of the frames the cutoff rule keeps, computed the naive way. */
function model(bytes: number, packets: number, perDirection: boolean, classes: ModelClass[] = []) {
  const flows = new Map<string, { init: string; p: number[]; b: number[]; lim: ModelClass }>();
  const kept: number[] = [];
  frames.forEach((r, i) => {
    const p = parse(r.data);
    const key = [p.src, p.dst].sort().join('|') + `|${p.proto}`;
    let fl = flows.get(key);
    if (!fl) {
      const port = Number(p.dst.split(':')[1]);
      const lim = classes.find(
        (c) =>
          (c.port === undefined || c.port === port) &&
          (c.proto === undefined || c.proto === p.proto),
      ) ?? { bytes, packets };
      fl = { init: p.src, p: [0, 0], b: [0, 0], lim };
      flows.set(key, fl);
    }
    const d = p.src === fl.init ? 0 : 1;
    const pk = perDirection ? fl.p[d]! : fl.p[0]! + fl.p[1]!;
    const by = perDirection ? fl.b[d]! : fl.b[0]! + fl.b[1]!;
    const under =
      (fl.lim.packets === 0 || pk < fl.lim.packets) && (fl.lim.bytes === 0 || by < fl.lim.bytes);
    if (under || (p.proto === 6 && (p.flags & 7) !== 0)) kept.push(i);
    fl.p[d]!++;
    fl.b[d]! += p.payload;
  });
  return kept;
}

async function run(patch: CaptureConfigPatch) {
  const out = mkdtempSync(join(dir, 'out-'));
  const summary = await runCapture(
    resolveCaptureConfig({ input, outDir: out, rotateIntervalSec: 0 }, patch),
  );
  const files = readdirSync(out, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.pcap') || f.endsWith('.pcap.gz'))
    .map((f) => join(out, f));
  assert.equal(files.length, 1);
  return { summary, file: files[0]!, written: readPcap(files[0]!).records };
}

function assertSameFrames(written: TestRecord[], kept: number[]): void {
  assert.equal(written.length, kept.length, 'packet count');
  kept.forEach((idx, j) => {
    const a = written[j]!, b = frames[idx]!; // prettier-ignore
    if (!a.data.equals(b.data) || a.tsSec !== b.tsSec || a.tsFrac !== b.tsFrac) {
      assert.fail(`output packet ${j} is not input packet ${idx}`);
    }
  });
}

test('flows and directions match the generator ground truth', async () => {
  const { FlowStage } = await import('../../src/flow/flow-stage.ts');
  const { CutoffPolicy } = await import('../../src/flow/cutoff.ts');
  const { openCaptureFile } = await import('../../src/capture/open-capture.ts');
  const seen = new Map<string, { po: number; pr: number; bo: number; br: number }>();
  const stage = new FlowStage({
    flows: {
      maxFlows: 100000,
      timeouts: { tcpSec: 300, udpSec: 60, otherSec: 30, tcpClosedSec: 5 },
      onFlowEnd: (t, slot) => {
        const f = t.describe(slot);
        seen.set(`${f.orig}:${f.origPort}>${f.resp}:${f.respPort}`, {
          po: t.packets[slot * 2]!,
          pr: t.packets[slot * 2 + 1]!,
          bo: t.payloadBytes[slot * 2]!,
          br: t.payloadBytes[slot * 2 + 1]!,
        });
      },
    },
    cutoff: new CutoffPolicy({
      defaults: { bytes: 0, packets: 0 },
      classes: [],
      perDirection: false,
    }),
    sink: null,
  });
  const src = await openCaptureFile(input);
  await src.run(stage);
  stage.finish();
  assert.equal(seen.size, truth.length);
  for (const t of truth) {
    const got = seen.get(`${t.c}:${t.cport}>${t.s}:${t.sport}`);
    assert.ok(got, `flow ${t.c}:${t.cport} > ${t.s}:${t.sport}`);
    assert.equal(got.po, t.pkts_c2s);
    assert.equal(got.pr, t.pkts_s2c);
    if (t.req > 0) {
      assert.equal(got.bo, t.req, 'client payload bytes');
      assert.equal(got.br, t.resp, 'server payload bytes');
    }
  }
});

test('per-flow cutoff keeps exactly the model packets, plus SYN/FIN/RST', async () => {
  const { summary, file, written } = await run({ cutoff: { bytes: 8192, packets: 100 } });
  const kept = model(8192, 100, false);
  assertSameFrames(written, kept);
  assert.equal(summary.flow.packetsWritten, kept.length);
  assert.equal(summary.flow.packetsCut, frames.length - kept.length);
  assert.equal(tcpdumpCount(file), kept.length);
  // Every TCP flow still opens and closes: all SYN and FIN of the input are in the output.
  const ctl = (rs: TestRecord[]) => rs.filter((r) => (parse(r.data).flags & 3) !== 0).length;
  assert.equal(ctl(written), ctl(frames));
  assert.ok(kept.length < frames.length / 2, 'the cutoff actually cut');
});

test('per-direction cutoff (gotm style)', async () => {
  const { written } = await run({ cutoff: { bytes: 8192, packets: 100, perDirection: true } });
  assertSameFrames(written, model(8192, 100, true));
});

test('packet-only and byte-only limits; 0 disables', async () => {
  assertSameFrames((await run({ cutoff: { bytes: 0, packets: 7 } })).written, model(0, 7, false));
  assertSameFrames(
    (await run({ cutoff: { bytes: 3000, packets: 0 } })).written,
    model(3000, 0, false),
  );
  const all = await run({ cutoff: { bytes: 0, packets: 0 } });
  assert.equal(all.written.length, frames.length);
});

test('cutoff classes: first match wins, limits left out inherit the default', async () => {
  const { summary, written } = await run({
    cutoff: {
      bytes: 4096,
      packets: 50,
      classes: [
        {
          name: 'ssh',
          protocols: [6],
          ports: [{ from: 22, to: 22 }],
          cidrs: [],
          bytes: 0,
          packets: 0,
        },
        { name: 'udp', protocols: [17], ports: [], cidrs: [], bytes: 0 },
        { name: 'web', protocols: [], ports: [{ from: 80, to: 80 }], cidrs: [], bytes: 1000 },
        { name: 'never', protocols: [6], ports: [{ from: 80, to: 80 }], cidrs: [], bytes: 1 },
      ],
    },
  });
  const kept = model(4096, 50, false, [
    { proto: 6, port: 22, bytes: 0, packets: 0 },
    { proto: 17, bytes: 0, packets: 50 },
    { port: 80, bytes: 1000, packets: 50 },
  ]);
  assertSameFrames(written, kept);
  assert.ok(summary.flow.flowsCut > 0);
});

test('CIDR classes match either endpoint', async () => {
  const { written } = await run({
    cutoff: {
      bytes: 2000,
      packets: 0,
      classes: [
        {
          name: 'servers',
          protocols: [],
          ports: [],
          cidrs: [(await import('../../src/flow/cidr.ts')).parseCidr('10.99.0.100/30')],
          bytes: 0,
          packets: 0,
        },
      ],
    },
  });
  // Servers .100-.103 are uncut; model it by address.
  const uncut = (s: string) => {
    const host = Number(s.split(':')[0]!.split('.')[3]);
    return host >= 100 && host <= 103;
  };
  const flows = new Map<string, number>();
  const kept: number[] = [];
  frames.forEach((r, i) => {
    const p = parse(r.data);
    const key = [p.src, p.dst].sort().join('|');
    const before = flows.get(key) ?? 0;
    if (uncut(p.src) || uncut(p.dst) || before < 2000 || (p.proto === 6 && (p.flags & 7) !== 0)) {
      kept.push(i);
    }
    flows.set(key, before + p.payload);
  });
  assertSameFrames(written, kept);
});
