/**
 * Canonical header keys (Go's textproto.CanonicalMIMEHeaderKey): the fast path and the cache of
 * header-map.ts against a plain rewrite of every name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addHeader, canonicalHeaderKey } from '../../src/record/header-map.ts';
import type { HeaderMap } from '../../src/record/record-types.ts';
import { rng } from '../helpers/random.ts';

const TOKEN_CHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** The rule written out without shortcuts: a valid token is re-cased, anything else kept. */
function reference(name: string): string {
  for (const ch of name) if (!TOKEN_CHARS.includes(ch)) return name;
  let upper = true;
  let out = '';
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === '-';
  }
  return out;
}

test('canonical keys of common names', () => {
  const cases: [string, string][] = [
    ['content-type', 'Content-Type'],
    ['Content-Type', 'Content-Type'],
    ['CONTENT-TYPE', 'Content-Type'],
    ['sec-websocket-key', 'Sec-Websocket-Key'],
    ['etag', 'Etag'],
    ['x-b3-traceid', 'X-B3-Traceid'],
    ['-x--y-', '-X--Y-'],
    ['a1b', 'A1b'],
    ['', ''],
    ['content type', 'content type'],
    ['content-typé', 'content-typé'],
    ['X:y', 'X:y'],
  ];
  for (const [name, want] of cases) {
    assert.equal(canonicalHeaderKey(name), want, name);
    assert.equal(canonicalHeaderKey(name), want, `${name} (again, cached)`);
  }
});

test('canonicalHeaderKey agrees with the plain rule on random names (cache filled past its bound)', () => {
  const pool = [
    'a',
    'b',
    'z',
    'A',
    'Z',
    '-',
    '0',
    '_',
    '.',
    '~',
    ' ',
    ':',
    '\t',
    'é',
    '\u0100',
    '😀',
  ];
  const rand = rng(3);
  const names: string[] = [];
  for (let n = 0; n < 4000; n++) {
    let s = '';
    for (let i = Math.floor(rand() * 10); i > 0; i--) {
      // Mostly token characters, sometimes an invalid one.
      const k = rand() < 0.9 ? Math.floor(rand() * 10) : Math.floor(rand() * pool.length);
      s += pool[k]!;
    }
    names.push(s);
  }
  // Twice over: first sights fill (and overflow) the cache, the second round mostly hits it.
  for (const name of [...names, ...names]) {
    assert.equal(canonicalHeaderKey(name), reference(name), JSON.stringify(name));
  }
});

test('addHeader collects values under the canonical key in arrival order', () => {
  const map: HeaderMap = new Map();
  assert.equal(addHeader(map, 'accept', 'a'), 'Accept');
  addHeader(map, 'Set-Cookie', '1');
  addHeader(map, 'ACCEPT', 'b');
  addHeader(map, 'set-cookie', '2');
  addHeader(map, 'bad name', 'x');
  assert.deepEqual(
    [...map],
    [
      ['Accept', ['a', 'b']],
      ['Set-Cookie', ['1', '2']],
      ['bad name', ['x']],
    ],
  );
});
