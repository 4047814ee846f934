/**
 * What every benchmark starts from: the 1.2 GB synthetic capture (../shared/bench/gen_pcap.py,
 * default settings, generated into test/bench/.work on first use), the compiled CLI, and a warm
 * page cache.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '../..');
export const work = join(root, 'test/bench/.work');
export const synth = join(work, 'synth.pcap');

/** Generates synth.pcap and builds dist/ when missing; returns the packet count. */
export function prepareBenchInput(): { packets: number } {
  mkdirSync(work, { recursive: true });
  if (!existsSync(synth)) {
    console.log('generating synth.pcap (default generator settings) …');
    execFileSync('python3', [join(root, '../shared/bench/gen_pcap.py'), '--out', synth], {
      stdio: 'inherit',
    });
  }
  if (!existsSync(join(root, 'dist/cli.js'))) execFileSync('npm', ['run', 'build'], { cwd: root });
  execFileSync('cat', [synth], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache
  return JSON.parse(readFileSync(`${synth}.json`, 'utf8')) as { packets: number };
}
