/** Names leaves are issued for: normalisation (one cache entry per host) and rejection. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTapgateError } from '../../src/errors.ts';
import { parseLeafName } from '../../src/gateway/mitm/leaf-name.ts';

test('DNS names: lower case, port and trailing dot stripped, IDN to A-labels', () => {
  const cases: [string, string][] = [
    ['example.test', 'example.test'],
    ['Example.TEST', 'example.test'],
    ['example.test:443', 'example.test'],
    ['example.test.', 'example.test'],
    ['WWW.Example.test.:8443', 'www.example.test'],
    ['localhost', 'localhost'],
    ['_dmarc.host-1.example', '_dmarc.host-1.example'],
    ['bücher.example', 'xn--bcher-kva.example'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
    [`${'a'.repeat(63)}.test`, `${'a'.repeat(63)}.test`],
  ];
  for (const [input, name] of cases) {
    assert.deepEqual(parseLeafName(input), { kind: 'dns', name }, input);
  }
});

test('IP literals: port and brackets stripped, IPv6 in RFC 5952 form without zone', () => {
  const cases: [string, string, number[]][] = [
    ['127.0.0.1', '127.0.0.1', [127, 0, 0, 1]],
    ['10.1.2.3:443', '10.1.2.3', [10, 1, 2, 3]],
    ['::1', '::1', [...Array<number>(15).fill(0), 1]],
    ['[::1]:8443', '::1', [...Array<number>(15).fill(0), 1]],
    [
      '[2001:DB8:0:0:0:0:0:1]',
      '2001:db8::1',
      [0x20, 1, 0xd, 0xb8, ...Array<number>(11).fill(0), 1],
    ],
    ['fe80::1%eth0', 'fe80::1', [0xfe, 0x80, ...Array<number>(13).fill(0), 1]],
    ['::ffff:192.0.2.1', '::ffff:c000:201', [...Array<number>(10).fill(0), 255, 255, 192, 0, 2, 1]],
  ];
  for (const [input, name, bytes] of cases) {
    const parsed = parseLeafName(input);
    assert.ok(parsed.kind === 'ip', input);
    assert.equal(parsed.name, name, input);
    assert.deepEqual([...parsed.bytes], bytes, input);
  }
});

test('rejected: wildcards, spaces, other characters, bad lengths, bad ports and brackets', () => {
  const bad = [
    '',
    '.',
    '*.example.test',
    '*',
    'exa mple.test',
    ' example.test',
    'example.test\n',
    'example.test/path',
    'user@example.test',
    'a..b',
    '.example.test',
    `${'a'.repeat(64)}.test`,
    `${'a.'.repeat(126)}ab`, // 254 characters
    'example.test:',
    'example.test:https',
    'example.test:443:443',
    '[::1',
    '[::1]x',
    '[::1]:',
    '[example.test]:443',
    'bad\u0000name',
    'ex ampl\u00e9.test', // domainToASCII refuses it
    '\u00e9*.test', // domainToASCII makes it xn--*-9fa.test: the check after must still run
  ];
  for (const input of bad) {
    assert.throws(
      () => parseLeafName(input),
      (e: unknown) => {
        assert.ok(isTapgateError(e));
        assert.equal(e.code, 'TG_ERR_USAGE');
        assert.ok(e.message.includes(JSON.stringify(input)), e.message);
        return true;
      },
      JSON.stringify(input),
    );
  }
});
