/** tapgate.yaml's capture/metrics/log/recorders sections: only TapgateError TG_ERR_CONFIG may escape. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCaptureConfig } from '../../../src/config/capture-config-yaml.ts';
import { InvariantError } from '../check.ts';
import { havoc } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import type { Target } from '../target.ts';

const VALUES = [
  '-1',
  '0',
  '1e309',
  '.nan',
  '~',
  'null',
  '""',
  "''",
  '[]',
  '{}',
  '[[[[[[1]]]]]]',
  'true',
  '99999999999999999999',
  '1.5',
  '0x10',
  '1k',
  '1G',
  '1T',
  '64kk',
  '-5m',
  '1d2h',
  '10%',
  '101%',
  '256.0.0.0/8',
  '::/0',
  '10.0.0.0/33',
  '1-65535',
  '65536',
  '80-20',
  '*a',
  '&a x',
  '!!binary AA==',
  '"\\u0000"',
  '|\n  multi',
  '>-\n  folded',
  'udp',
  'tcp',
  'icmp',
  'eth0',
  'af-packet',
  'pcap',
];
const KEYS = [
  'capture',
  'metrics',
  'log',
  'recorders',
  'read',
  'interfaces',
  'live',
  'source',
  'output',
  'flows',
  'cutoff',
  'records',
  'sniffing',
  'engine',
  'workers',
  'snapLen',
  'filter',
  'dir',
  'compress',
  'gzipLevel',
  'gzipMinSaving',
  'rotateInterval',
  'rotateSize',
  'retainSize',
  'retainAge',
  'maxFlows',
  'timeouts',
  'tcp',
  'bytes',
  'packets',
  'perDirection',
  'classes',
  'name',
  'match',
  'proto',
  'ports',
  'cidrs',
  'http.body',
  'http.maxBodySize',
  'websocket',
  'websocket.sampleRate',
  'dnsPorts',
  'reassemblyMemory',
  'reassemblyBufferPerSide',
  'addr',
  'level',
  '<<',
];

const EXTRA_SEEDS = [
  '',
  'capture: {}\n',
  'a: &a [*a]\n',
  'x: &a [1, 1, 1]\ny: &b [*a, *a, *a, *a]\nz: &c [*b, *b, *b, *b]\ncapture: *c\n',
  'capture:\n  cutoff:\n    classes:\n      - name: x\n        match: { proto: tcp, ports: [1-10, 443], cidrs: [10.0.0.0/8, "::1/128"] }\n',
  'recorders:\n  - name: r\n    file: /tmp/x.jsonl\n',
  'capture:\n  read: a.pcap\n  flows: { maxFlows: 1, timeouts: { tcp: 1s } }\n',
];

/** Replace a value or a key, duplicate / drop / re-indent a line, or byte havoc. */
function yamlStructured(rng: Prng, input: Buffer, other: Buffer): Buffer {
  const lines = input.toString('utf8').split('\n');
  const i = rng.int(lines.length);
  const line = lines[i]!;
  switch (rng.int(7)) {
    case 0:
      lines[i] = line.replace(/:\s.*$/, `: ${rng.pick(VALUES)}`);
      break;
    case 1:
      lines[i] = line.replace(/^(\s*-?\s*)[\w.<]+/, (_m, pre: string) => `${pre}${rng.pick(KEYS)}`);
      break;
    case 2:
      lines.splice(i, 0, line);
      break;
    case 3:
      lines.splice(i, 1);
      break;
    case 4:
      lines[i] = (rng.chance(0.5) ? '  ' : '\t') + line;
      break;
    case 5:
      lines.splice(i, 0, `${' '.repeat(rng.int(6))}${rng.pick(KEYS)}: ${rng.pick(VALUES)}`);
      break;
    default:
      return havoc(rng, input, other);
  }
  return Buffer.from(lines.join('\n'), 'utf8');
}

export const yaml: Target = {
  name: 'yaml',
  about: 'YAML config (parseCaptureConfig): only TapgateError TG_ERR_CONFIG may escape',
  allowedErrors: ['TG_ERR_CONFIG'],
  seeds: () => [
    readFileSync(join(import.meta.dirname, '../../../deploy/tapgate.yaml')),
    ...EXTRA_SEEDS.map((s) => Buffer.from(s)),
  ],
  mutate: yamlStructured,
  run(input) {
    const patch = parseCaptureConfig(input.toString('utf8'), 'fuzz.yaml');
    if (typeof patch !== 'object') throw new InvariantError('no patch object');
  },
};
