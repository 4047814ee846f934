/**
 * Bypass matchers and decisions, table-driven from gost-compat.md §4.2/§4.3 and the cases of
 * go-gost/x `internal/matcher` (matcher_test.go).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BypassGroup,
  bypassFor,
  compileGlob,
  PatternBypass,
  splitHostPort,
  type Bypass,
} from '../../src/gateway/bypass.ts';

function list(
  matchers: string[],
  opts: { whitelist?: boolean; network?: string } = {},
): PatternBypass {
  return new PatternBypass({
    name: 't',
    whitelist: opts.whitelist ?? false,
    network: opts.network ?? '',
    matchers,
  });
}

/** [patterns, target, matched] */
const MATCHES: [string[], string, boolean][] = [
  // CIDR: IP targets inside the prefix; the port is ignored; host names never match
  [['192.168.0.0/16'], '192.168.1.1', true],
  [['192.168.0.0/16'], '192.168.255.255:443', true],
  [['192.168.0.0/16'], '10.0.0.1', false],
  [['192.168.0.0/16'], 'not-an-ip', false],
  [['2001:db8::/32'], '[2001:db8::1]:80', true],
  [['2001:db8::/32'], '2001:db9::1', false],
  [['169.254.0.0/16'], '169.254.169.254:80', true],
  // wildcard: case-insensitive glob on the host, `*` crosses dots, optional port or range
  [['*.example.com'], 'foo.example.com', true],
  [['*.example.com'], 'a.b.example.com', true],
  [['*.example.com'], 'example.com', false],
  [['*.example.com'], 'foo.other.com', false],
  [['*.Example.COM'], 'FOO.EXAMPLE.COM:80', true],
  [['*.example.com:443'], 'foo.example.com:443', true],
  [['*.example.com:443'], 'foo.example.com:80', false],
  [['*.example.com:443'], 'foo.example.com', false],
  [['*.example.com:8000-9000'], 'foo.example.com:8500', true],
  [['*.example.com:8000-9000'], 'foo.example.com:7999', false],
  [['api-?.example.com'], 'api-1.example.com', true],
  [['api-?.example.com'], 'api-12.example.com', false],
  [['*.tracker.example'], 'ads.tracker.example:443', true],
  [['{a,b}?.example.com'], 'b1.example.com', true],
  [['[ab]?.example.com'], 'c1.example.com', false],
  [['[!c]?.example.com'], 'a1.example.com', true],
  // without `*` or `?` braces and brackets are not glob syntax: an address
  [['{a,b}.example.com'], 'b.example.com', false],
  [['{a,b}.example.com'], '{a,b}.example.com', true],
  // IP range (or a single IP): the port is ignored
  [['192.168.1.1-192.168.1.10'], '192.168.1.5', true],
  [['192.168.1.1-192.168.1.10'], '192.168.1.10:8080', true],
  [['192.168.1.1-192.168.1.10'], '192.168.1.11', false],
  [['10.9.0.1-10.9.0.50'], '10.9.0.50:22', true],
  [['10.0.0.9'], '10.0.0.9:1234', true],
  [['10.0.0.9'], '10.0.0.10', false],
  [['2001:db8::1-2001:db8::ff'], '[2001:db8::80]:443', true],
  // address: exact host, `.suffix` for it and its subdomains, optional port / range
  [['example.com'], 'example.com', true],
  [['example.com'], 'example.com:443', true],
  [['example.com'], 'www.example.com', false],
  [['Example.COM:80'], 'EXAMPLE.COM:80', true],
  [['example.com:80'], 'example.com:443', false],
  [['example.com:80'], 'example.com', false], // no port → port 0
  [['example.com:8000-9000'], 'example.com:9000', true],
  [['example.com:8000-9000'], 'example.com:7999', false],
  [['example.com:80', 'example.com:443'], 'example.com:443', true],
  [['.example.com'], 'example.com', true],
  [['.example.com'], 'deep.sub.example.com:443', true],
  [['.example.com'], 'notexample.com', false],
  [['.example.com:80'], 'sub.example.com:80', true],
  [['.example.com:80'], 'sub.example.com:81', false],
  [['.corp.example'], 'git.corp.example:22', true],
  [['example.org:25'], 'example.org:25', true],
  [['example.org:25'], 'example.org:587', false],
  [['[::1]:80'], '[::1]:80', true],
  [['localhost'], 'LOCALHOST:8080', true],
];

describe('bypass matchers (§4.2)', () => {
  for (const [patterns, target, matched] of MATCHES) {
    test(`${patterns.join(', ')} ${matched ? 'matches' : 'misses'} ${target}`, () => {
      const b = list(patterns);
      assert.equal(b.matches(target), matched);
      assert.equal(b.contains('tcp', target), matched, 'blacklist');
      assert.equal(
        list(patterns, { whitelist: true }).contains('tcp', target),
        !matched,
        'whitelist',
      );
    });
  }

  test('a pattern that is not a valid glob is an address', () => {
    assert.equal(compileGlob('[invalid*'), null);
    assert.equal(list(['[invalid*']).matches('anything'), false);
    assert.equal(list(['[invalid*']).matches('[invalid*'), true);
  });

  test("Go's SplitHostPort", () => {
    assert.deepEqual(splitHostPort('a:1'), { host: 'a', port: '1' });
    assert.deepEqual(splitHostPort('[::1]:80'), { host: '::1', port: '80' });
    assert.deepEqual(splitHostPort('a:'), { host: 'a', port: '' });
    assert.equal(splitHostPort('a'), null);
    assert.equal(splitHostPort('::1'), null);
    assert.equal(splitHostPort('[::1]'), null);
  });
});

describe('bypass decisions (§4.3)', () => {
  test('network: a list for another network never bypasses', () => {
    const udp = list(['example.com'], { network: 'udp' });
    assert.equal(udp.contains('tcp', 'example.com:53'), false);
    assert.equal(udp.contains('udp', 'example.com:53'), true);
  });

  test('no patterns: with a network, blacklist → true, whitelist → false; without, false', () => {
    assert.equal(list([], { network: 'udp' }).contains('udp', 'x:1'), true);
    assert.equal(list([], { network: 'udp', whitelist: true }).contains('udp', 'x:1'), false);
    assert.equal(list([]).contains('tcp', 'x:1'), false);
    assert.equal(list([], { whitelist: true }).contains('tcp', 'x:1'), false);
  });

  test('an empty target never bypasses', () => {
    assert.equal(list(['*']).contains('tcp', ''), false);
    assert.equal(list(['x'], { whitelist: true }).contains('tcp', ''), false);
  });

  test('whitelist `[.example.com]`: only example.com and its subdomains pass', () => {
    const w = list(['.example.com'], { whitelist: true });
    assert.equal(w.contains('tcp', 'api.example.com:443'), false);
    assert.equal(w.contains('tcp', 'example.com:443'), false);
    assert.equal(w.contains('tcp', 'example.org:443'), true);
  });

  test('groups: all whitelists must say true; otherwise any blacklist', () => {
    const white1 = list(['.a.test'], { whitelist: true });
    const white2 = list(['.b.test'], { whitelist: true });
    const black = list(['evil.a.test']);
    const g = new BypassGroup([white1, white2, black]);
    // In neither whitelist: both say true → bypass.
    assert.equal(g.contains('tcp', 'c.test:80'), true);
    // In one whitelist: that one says false → not by the whitelists; the blacklist decides.
    assert.equal(g.contains('tcp', 'ok.a.test:80'), false);
    assert.equal(g.contains('tcp', 'evil.a.test:80'), true);
    const blacks = new BypassGroup([list(['x.test']), list(['y.test'])]);
    assert.equal(blacks.contains('tcp', 'y.test:1'), true);
    assert.equal(blacks.contains('tcp', 'z.test:1'), false);
  });

  test('bypassFor: none, one, or a group', () => {
    const byName = new Map<string, Bypass>([
      ['a', list(['a.test'])],
      ['b', list(['b.test'])],
    ]);
    assert.equal(bypassFor([], byName), null);
    assert.equal(bypassFor(['a'], byName), byName.get('a'));
    const g = bypassFor(['a', 'b'], byName)!;
    assert.equal(g.contains('tcp', 'b.test:1'), true);
    assert.equal(g.contains('tcp', 'c.test:1'), false);
  });

  test('the §5.4 `blocked` list', () => {
    const blocked = list([
      '169.254.0.0/16',
      '10.9.0.1-10.9.0.50',
      '*.tracker.example',
      'example.org:25',
    ]);
    const cases: [string, boolean][] = [
      ['169.254.169.254:80', true],
      ['10.9.0.7:443', true],
      ['10.9.0.51:443', false],
      ['pixel.tracker.example:443', true],
      ['tracker.example:443', false],
      ['example.org:25', true],
      ['example.org:443', false],
      ['www.example.org:25', false],
    ];
    for (const [target, want] of cases) assert.equal(blocked.contains('tcp', target), want, target);
  });
});
