/**
 * `tapgate capture` as a user runs it: exit codes, one clear line for user errors, stdin, gzip
 * input, signals, and bad input that is counted rather than fatal.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { corpusDir, runCli } from '../helpers/cli.ts';
import { readPcap, tcpdumpCount } from '../helpers/pcap-file.ts';

const GEN = join(import.meta.dirname, '../../../shared/bench/gen_pcap.py');
const work = mkdtempSync(join(tmpdir(), 'tapgate-cli-'));
const http = join(corpusDir, 'captures', 'nd-http-keepalive-37req.pcapng');
let synth = '';
before(() => {
  synth = join(work, 'synth.pcap');
  execFileSync('python3', [GEN, '--out', synth, '--flows', '300', '--udp', '50', '--elephants', '2',
    '--eleph-min-mb', '3', '--eleph-max-mb', '4', '--duration', '200']); // prettier-ignore
});
after(() => {
  rmSync(work, { recursive: true, force: true });
});

function files(dir: string, re = /\.pcap(\.gz)?$/): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => re.test(f))
    .map((f) => join(dir, f))
    .sort();
}

test('summary and --json report what was read, written and cut', async () => {
  const out = join(work, 'json');
  const r = await runCli(['capture', '-r', synth, '-w', out, '--cutoff-bytes', '8k', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    flow: { packets: number; packetsWritten: number; packetsCut: number; flowsCreated: number };
    output: { filesClosed: number };
  };
  const truth = JSON.parse(readFileSync(`${synth}.json`, 'utf8')) as {
    packets: number;
    flow_count: number;
  };
  assert.equal(s.flow.packets, truth.packets);
  assert.equal(s.flow.flowsCreated, truth.flow_count);
  assert.equal(s.flow.packetsWritten + s.flow.packetsCut, truth.packets);
  const written = files(out).reduce((n, f) => n + tcpdumpCount(f), 0);
  assert.equal(written, s.flow.packetsWritten);
  assert.equal(files(out).length, s.output.filesClosed);

  const human = await runCli(['capture', '-r', synth, '-w', join(work, 'human')]);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /read +[\d,]+ packets/);
  assert.match(human.stdout, /saved \d+\.\d%/);
});

test('200 s of traffic rotates into aligned 60 s files named by their first packet', async () => {
  const out = join(work, 'rot');
  const r = await runCli(['capture', '-r', synth, '-w', out, '--compress', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const names = files(out).map((f) => f.slice(out.length + 1));
  // The generator starts at 1700000000 = 2023-11-14T22:13:20Z; boundaries at :14:00, :15:00, …
  assert.ok(names.length >= 4 && names.length <= 5, names.join(' '));
  assert.equal(names[0], '2023/11/14/synth-2023-11-14T22-13-20.pcap.gz');
  for (const [i, n] of names.entries()) {
    assert.match(n, /^2023\/11\/14\/synth-2023-11-14T22-\d\d-\d\d\.pcap\.gz$/);
    if (i > 0) assert.match(n, /T22-1[4-7]-0\d/, 'later files start just after a minute boundary');
    execFileSync('gzip', ['-t', join(out, n)]);
  }
  // Each file holds only packets of its own interval.
  for (const f of files(out)) {
    const recs = readPcap(f).records;
    const minute = Math.floor(recs[0]!.tsSec / 60);
    assert.ok(
      recs.every((x) => Math.floor(x.tsSec / 60) === minute),
      f,
    );
  }
});

test('stdin and gzip input are detected by magic, not by name', async () => {
  const gz = join(work, 'input-without-extension');
  writeFileSync(gz, gzipSync(readFileSync(http)));
  for (const [args, stdin] of [
    [['-r', gz], undefined],
    [['-r', '-'], readFileSync(http)],
    [['-r', '-'], readFileSync(gz)],
  ] as const) {
    const out = mkdtempSync(join(work, 'in-'));
    const r = await runCli(
      ['capture', ...args, '-w', out, '--json', '--cutoff-bytes', '0', '--cutoff-packets', '0'],
      stdin ? { stdin } : {},
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { flow: { packets: number } }).flow.packets, 115);
    assert.equal(
      files(out).reduce((n, f) => n + tcpdumpCount(f), 0),
      115,
    );
  }
});

test('user errors: one clear line, exit 2, no stack trace', async () => {
  const garbage = join(work, 'garbage.pcap');
  writeFileSync(garbage, 'this is not a capture file at all, just text\n');
  const empty = join(work, 'empty.pcap');
  writeFileSync(empty, '');
  const fileAsDir = join(work, 'a-file');
  writeFileSync(fileAsDir, 'x');
  const badYaml = join(work, 'bad.yaml');
  writeFileSync(badYaml, 'capture:\n  cutoff:\n    bytez: 10\n');
  const cases: [string[], RegExp][] = [
    [['capture', '-r', join(work, 'missing.pcap'), '-w', work], /missing\.pcap/],
    [['capture', '-r', garbage, '-w', work], /garbage\.pcap.*(not a|unknown|format)/i],
    [['capture', '-r', empty, '-w', work], /empty\.pcap/],
    [['capture', '-r', http, '-w', join(fileAsDir, 'sub')], /a-file/],
    [['capture', '-r', http], /no output/],
    [['capture', '-w', work], /no input/],
    [['capture', '-r', http, '-w', work, '--cutoff-bytes', 'lots'], /--cutoff-bytes/],
    [['capture', '-r', http, '-w', work, '--bogus'], /bogus/],
    [
      ['capture', '-c', badYaml, '-r', http, '-w', work],
      /bad\.yaml:3: capture\.cutoff\.bytez: unknown key/,
    ],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, re] of cases) {
    const r = await runCli(args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test('a truncated capture is processed up to the damage and the damage is counted', async () => {
  const whole = readFileSync(synth);
  const cut = join(work, 'cut.pcap');
  writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2) + 7));
  const out = join(work, 'cut-out');
  const r = await runCli([
    'capture',
    '-r',
    cut,
    '-w',
    out,
    '--json',
    '--cutoff-bytes',
    '0',
    '--cutoff-packets',
    '0',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as {
    source: { errors: Record<string, number> };
    flow: { packets: number };
  };
  assert.equal(s.source.errors.truncated_record, 1);
  assert.ok(s.flow.packets > 0);
  assert.equal(
    files(out).reduce((n, f) => n + tcpdumpCount(f), 0),
    s.flow.packets,
  );
});

test('SIGTERM mid-run closes every file valid, with a gzip trailer', async () => {
  const out = join(work, 'sig');
  mkdirSync(out);
  // Feed stdin slowly so the run is surely in progress when the signal arrives.
  const { spawn } = await import('node:child_process');
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli.ts', 'capture', '-r', '-', '-w', out, '--compress', '--json'],
    {
      cwd: join(import.meta.dirname, '../..'),
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const data = readFileSync(synth);
  // The write completes once the child has read the bytes, so its signal handlers are in place
  // (start-up can take seconds on a loaded machine); stdin stays open, so the run is still going.
  await new Promise<void>((resolve, reject) => {
    child.stdin.write(data.subarray(0, 4 << 20), (e) => {
      if (e) reject(e);
      else resolve();
    });
  });
  // …and once a temporary file exists, packets are being written.
  for (let i = 0; i < 300 && files(out, /\.part$/).length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('close', r));
  child.stdin.destroy();
  assert.equal(code, 0);
  const s = JSON.parse(stdout) as { aborted: boolean; flow: { packetsWritten: number } };
  assert.equal(s.aborted, true);
  const done = files(out);
  assert.ok(done.length >= 1);
  assert.deepEqual(files(out, /\.part$/), [], 'no temporaries left');
  let n = 0;
  for (const f of done) {
    execFileSync('gzip', ['-t', f]);
    n += tcpdumpCount(f);
  }
  assert.equal(n, s.flow.packetsWritten);
});

test('on a terminal a progress bar is drawn on stderr while reading', async () => {
  const out = join(work, 'tty');
  const cli = `${process.execPath} --import tsx src/cli.ts capture -r - -w ${out}`;
  // `script` gives the CLI a pseudo-terminal; the input arrives in two parts 1 s apart.
  const feed = `(head -c 2000000 ${synth}; sleep 1; tail -c +2000001 ${synth}) | ${cli}`;
  const r = spawnSync('script', ['-qec', feed, '/dev/null'], {
    cwd: join(import.meta.dirname, '../..'),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\d+% \| [\d.]+ \w+ of \? \| [\d,]+ packets\/s/);
  assert.match(r.stdout, /read +[\d,]+ packets/);
  // Without a terminal there is no bar.
  const plain = await runCli(['capture', '-r', synth, '-w', join(work, 'notty')]);
  assert.doesNotMatch(plain.stderr + plain.stdout, /packets\/s \|/);
});

test('--records alone: JSON lines on stdout or in a file, named pcaps with -w, flags checked', async () => {
  // stdout: one JSON object per line, one HTTP record per request of the capture.
  const r = await runCli(['capture', '-r', http, '--records', '-', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  const recs = lines.map((l) => JSON.parse(l) as { proto?: string; http?: { statusCode: number } });
  assert.equal(recs.filter((x) => x.proto === 'http' && x.http).length, 37);

  // A file, with pcaps: every record names the file its packets went to, and the summary counts.
  const out = join(work, 'rec');
  const file = join(work, 'records.jsonl');
  const s = await runCli(['capture', '-r', http, '-w', out, '--records', file]);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /records +37 \(http 37\) from 1 sniffed flows/);
  // The one connection lasts 6 minutes over 7 files: each record names the files from the
  // flow's start up to its own time, so the lists grow as the connection goes on.
  const pcaps = files(out).map((f) => f.slice(out.length + 1));
  assert.ok(pcaps.length > 1);
  let previous: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const rec = JSON.parse(line) as {
      flow: { pcap: string[] };
    };
    assert.deepEqual(rec.flow.pcap, pcaps.slice(0, rec.flow.pcap.length));
    assert.ok(rec.flow.pcap.length >= Math.max(1, previous.length));
    previous = rec.flow.pcap;
  }
  // The last exchange is in the last file but one: the connection's close came a minute later.
  assert.equal(previous.length, pcaps.length - 1);

  const bad = await runCli([
    'capture',
    '-r',
    http,
    '--records',
    '-',
    '--websocket-sample-rate',
    'x',
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--websocket-sample-rate: "x" is not a number/);
  const noDir = await runCli(['capture', '-r', http, '--records', join(work, 'nope', 'r.jsonl')]);
  assert.equal(noDir.code, 2);
  assert.match(noDir.stderr, /cannot open records file/);
});

test('--websocket-sample-rate takes a negative value with a space; --dns-ports moves DNS', async () => {
  const ws = join(corpusDir, 'captures', 'zk-ws-basic.pcap');
  const all = await runCli([
    'capture',
    '-r',
    ws,
    '--records',
    '-',
    '-q',
    '--websocket-sample-rate',
    '-1',
  ]);
  assert.equal(all.code, 0, all.stderr);
  const frames = all.stdout.split('\n').filter((l) => l.includes('"websocket":'));
  assert.equal(frames.length, 9, 'every frame tshark sees is a record');

  const dns = join(corpusDir, 'captures', 'sv-dns-a-aaaa-mx.pcap');
  const count = (out: string): number =>
    out.split('\n').filter((l) => l.includes('"proto":"dns"')).length;
  const standard = await runCli(['capture', '-r', dns, '--records', '-', '-q']);
  assert.equal(count(standard.stdout), 3);
  const moved = await runCli(['capture', '-r', dns, '--records', '-', '-q', '--dns-ports', '5353']);
  assert.equal(count(moved.stdout), 0, 'port 53 is no longer tried as DNS');
});
