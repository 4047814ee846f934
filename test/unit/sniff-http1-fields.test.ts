/**
 * Http1Sniffer record fields on hand-built exchanges, for cases the corpus lacks: gost-compat.md
 * §1.3 field rules (host, clientIP, scheme, contentLength, headers), interim responses, body
 * framing without a length, line folding, and gaps in heads and chunked bodies.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecordUnit } from '../../src/record/record-types.ts';
import { goIpString, hostWithPort } from '../../src/sniff/client-ip.ts';
import { Http1Sniffer } from '../../src/sniff/http1/http1-sniffer.ts';
import { Side, type SniffConfig, type Timestamp } from '../../src/sniff/sniffer.ts';
import { NO_HAND_OVER, recordingContext, type RecordingContext } from '../helpers/sniff-harness.ts';

type Step = [Side, string | Buffer] | [Side, 'gap', number] | ['time', number];

/** Plays `steps` (data, gaps, clock changes) and ends both sides. */
function play(
  steps: Step[],
  config: Partial<SniffConfig> = {},
  serverPort = 8080,
): RecordingContext {
  const ctx = recordingContext(config, { serverPort });
  const http = new Http1Sniffer(ctx, NO_HAND_OVER);
  for (const step of steps) {
    if (step[0] === 'time') ctx.setNow(at(step[1]));
    else if (step[1] === 'gap') http.gap(step[0], step[2]!);
    else if (http.wants(step[0])) http.data(step[0], Buffer.from(step[1]));
  }
  http.end(Side.Client);
  http.end(Side.Server);
  return ctx;
}

function at(sec: number): Timestamp {
  return { sec, nsec: 0 };
}

function only(ctx: RecordingContext): RecordUnit {
  assert.equal(ctx.units.length, 1);
  return ctx.units[0]!;
}

const C = Side.Client;
const S = Side.Server;
const OK_EMPTY = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

describe('gost-compat §1.3 fields', () => {
  test('a full exchange: every field', () => {
    const request =
      'POST /v1/items?x=1 HTTP/1.1\r\nHost: api.example.net\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"q":1}';
    const response = 'HTTP/1.1 201 Created\r\nContent-Length: 7\r\n\r\ncreated';
    const ctx = play(
      [
        ['time', 10],
        [C, request],
        ['time', 11],
        [S, response],
      ],
      { httpBody: true },
      80,
    );
    const unit = only(ctx);
    assert.deepStrictEqual(unit, {
      proto: 'http',
      scope: 'unit',
      host: 'api.example.net:80',
      clientIP: '',
      http: {
        host: 'api.example.net',
        method: 'POST',
        proto: 'HTTP/1.1',
        scheme: '',
        uri: '/v1/items?x=1',
        cached: false,
        statusCode: 201,
        request: {
          contentLength: 7,
          header: new Map([
            ['Content-Type', ['application/json']],
            ['Content-Length', ['7']],
          ]),
          body: Buffer.from('{"q":1}'),
        },
        response: {
          contentLength: 7,
          header: new Map([['Content-Length', ['7']]]),
          body: Buffer.from('created'),
        },
      },
      inputBytes: request.length,
      outputBytes: response.length,
      start: at(10),
      end: at(11),
      err: '',
    });
  });

  test('record host: Host plus the server port when it has none', () => {
    const cases: [string | null, string][] = [
      ['example.com', 'example.com:8080'],
      ['example.com:9000', 'example.com:9000'],
      ['[2001:db8::1]', '[2001:db8::1]:8080'],
      ['[2001:db8::1]:443', '[2001:db8::1]:443'],
      ['2001:db8::1', '[2001:db8::1]:8080'],
      [null, ''],
    ];
    for (const [host, expected] of cases) {
      const head = host === null ? '' : `Host: ${host}\r\n`;
      const unit = only(play([[C, `GET / HTTP/1.1\r\n${head}\r\n`]]));
      assert.equal(unit.host, expected, String(host));
      assert.equal(unit.http!.host, host ?? '');
    }
    assert.equal(hostWithPort('', 80), '');
  });

  test('clientIP: CF-Connecting-IP, else first X-Forwarded-For, else X-Real-Ip, as Go prints it', () => {
    const cases: [string, string][] = [
      ['CF-Connecting-IP: 203.0.113.9\r\nX-Forwarded-For: 198.51.100.1', '203.0.113.9'],
      ['X-Forwarded-For:  198.51.100.1 , 10.0.0.1\r\nX-Real-Ip: 192.0.2.7', '198.51.100.1'],
      ['X-Real-Ip: 2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['X-Real-Ip: ::ffff:192.0.2.1', '192.0.2.1'],
      // GOST takes the first header present; an invalid value does not fall through.
      ['CF-Connecting-IP: not-an-ip\r\nX-Real-Ip: 192.0.2.7', ''],
      ['X-Forwarded-For: unknown', ''],
      ['', ''],
    ];
    for (const [headers, expected] of cases) {
      const unit = only(
        play([[C, `GET / HTTP/1.1\r\n${headers}${headers === '' ? '' : '\r\n'}\r\n`]]),
      );
      assert.equal(unit.clientIP, expected, headers);
    }
    assert.equal(goIpString('fe80::1%eth0'), '');
    assert.equal(goIpString('01.2.3.4'), '');
  });

  test('scheme from an absolute-form target; the uri as received', () => {
    const unit = only(
      play([[C, 'GET HTTP://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n']]),
    );
    assert.equal(unit.http!.scheme, 'http');
    assert.equal(unit.http!.uri, 'HTTP://example.com/a?b');
    const tls = only(play([[C, 'GET https://example.com/ HTTP/1.1\r\n\r\n']]));
    assert.equal(tls.http!.scheme, 'https');
  });

  test('header keys canonical, one value per line in order, values UTF-8 with U+FFFD', () => {
    const head = Buffer.concat([
      Buffer.from('GET / HTTP/1.1\r\nx-dup: 1\r\nsec-websocket-key: k\r\nX-DUP: 2\r\nX-Bin: a'),
      Buffer.from([0xff, 0xc3, 0xa9]),
      Buffer.from('\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
    ]);
    const header = only(play([[C, head]])).http!.request.header!;
    assert.deepStrictEqual(
      header,
      new Map([
        ['X-Dup', ['1', '2']],
        ['Sec-Websocket-Key', ['k']],
        ['X-Bin', ['a\ufffdé']],
      ]),
    );
  });

  test('obsolete line folding joins the value with a space (RFC 9112 §5.2)', () => {
    const unit = only(play([[C, 'GET / HTTP/1.1\r\nX-Folded: one\r\n  two\r\n\tthree\r\n\r\n']]));
    assert.deepStrictEqual(unit.http!.request.header!.get('X-Folded'), ['one two three']);
  });

  test('malformed header lines are counted and skipped', () => {
    const ctx = play([
      [C, 'GET / HTTP/1.1\r\n folded-first\r\nBad Name: x\r\nNo-Colon\r\nGood: y\r\n\r\n'],
    ]);
    assert.deepStrictEqual(
      ctx.errors.map((e) => e.code),
      ['bad_header_line', 'bad_header_line', 'bad_header_line'],
    );
    assert.deepStrictEqual(only(ctx).http!.request.header, new Map([['Good', ['y']]]));
  });
});

describe('responses', () => {
  test('100 Continue is skipped; its bytes count toward the exchange', () => {
    const request = 'PUT /f HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n';
    const interim = 'HTTP/1.1 100 Continue\r\n\r\n';
    const ctx = play([
      [C, request],
      [S, interim],
      [C, 'abc'],
      [S, OK_EMPTY],
    ]);
    const unit = only(ctx);
    assert.equal(unit.http!.statusCode, 200);
    assert.equal(unit.inputBytes, request.length + 3);
    assert.equal(unit.outputBytes, interim.length + OK_EMPTY.length);
  });

  test('no body after HEAD, 204 and 304, whatever the headers say', () => {
    const ctx = play([
      [
        C,
        'HEAD / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n',
      ],
      [S, 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n'],
      [S, 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n'],
      [S, 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n'],
      [S, 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'],
    ]);
    assert.deepStrictEqual(ctx.errors, []);
    // Go's ContentLength: a HEAD response keeps its header value, 204/304 give 0.
    assert.deepStrictEqual(
      ctx.units.map((u) => [u.http!.uri, u.http!.statusCode, u.http!.response.contentLength]),
      [
        ['/', 200, 1234],
        ['/a', 204, 0],
        ['/b', 304, 0],
        ['/c', 200, 2],
      ],
    );
  });

  test('a response without length runs until the server closes', () => {
    const ctx = play(
      [
        [C, 'GET / HTTP/1.0\r\n\r\n'],
        [S, 'HTTP/1.0 200 OK\r\n\r\nsome'],
        [S, ' more'],
      ],
      { httpBody: true },
    );
    const unit = only(ctx);
    assert.equal(unit.err, '');
    assert.deepStrictEqual(unit.http!.response.body, Buffer.from('some more'));
    assert.equal(unit.http!.response.contentLength, 9);
    // Without capture: Go's -1 for an unknown length.
    assert.equal(
      only(
        play([
          [C, 'GET / HTTP/1.0\r\n\r\n'],
          [S, 'HTTP/1.0 200 OK\r\n\r\nx'],
        ]),
      ).http!.response.contentLength,
      -1,
    );
  });

  test('a response whose final coding is not chunked also runs until close', () => {
    const unit = only(
      play(
        [
          [C, 'GET / HTTP/1.1\r\n\r\n'],
          [S, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzzzz'],
        ],
        { httpBody: true },
      ),
    );
    assert.equal(unit.http!.response.contentLength, 4);
  });

  test('chunked with extensions and trailers; trailers are not recorded', () => {
    const response =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n4;name=v\r\nWiki\r\n5 ; x\r\npedia\r\n0\r\nX-Sum: 1\r\n\r\n';
    const ctx = play(
      [
        [C, 'GET / HTTP/1.1\r\n\r\n'],
        [S, response],
      ],
      { httpBody: true },
    );
    const unit = only(ctx);
    assert.deepStrictEqual(ctx.errors, []);
    assert.deepStrictEqual(unit.http!.response.body, Buffer.from('Wikipedia'));
    assert.deepStrictEqual([...unit.http!.response.header!.keys()], ['Trailer']);
    assert.equal(unit.outputBytes, response.length);
    assert.equal(
      only(
        play([
          [C, 'GET / HTTP/1.1\r\n\r\n'],
          [S, response],
        ]),
      ).http!.response.contentLength,
      -1,
    );
  });

  test('a response with no request (capture started mid-connection) is recorded and counted', () => {
    const ctx = play([
      ['time', 5],
      [S, 'HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\nx'],
    ]);
    assert.deepStrictEqual(ctx.errors, [{ proto: 'http', code: 'orphan_response' }]);
    const unit = only(ctx);
    assert.equal(unit.http!.method, '');
    assert.equal(unit.http!.request.header, null);
    assert.equal(unit.http!.proto, 'HTTP/1.1');
    assert.equal(unit.http!.statusCode, 404);
    assert.equal(unit.inputBytes, 0);
    assert.deepStrictEqual(unit.start, at(5));
  });

  test('a status line that is not one stops the server side; pending requests get statusCode 0', () => {
    const ctx = play([
      [C, 'GET / HTTP/1.1\r\n\r\n'],
      [S, 'SSH-2.0-OpenSSH\r\n'],
    ]);
    assert.deepStrictEqual(ctx.errors, [{ proto: 'http', code: 'bad_status_line' }]);
    const unit = only(ctx);
    assert.equal(unit.http!.statusCode, 0);
    assert.equal(unit.err, 'malformed start line');
  });
});

describe('gaps', () => {
  test('in a request head: that request keeps its place with err, its response still pairs', () => {
    const ctx = play([
      [C, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nUser-Ag'],
      [C, 'gap', 100],
      [C, 'GET /3 HTTP/1.1\r\n\r\n'],
      [S, `${OK_EMPTY}HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n`],
    ]);
    assert.deepStrictEqual(
      ctx.units.map((u) => [u.http!.uri, u.http!.statusCode, u.err]),
      [
        ['/1', 200, ''],
        ['/2', 404, 'gap in stream'],
      ],
    );
    assert.deepStrictEqual(ctx.errors, []);
  });

  test('in a response head: every pending exchange is recorded with err at once', () => {
    const ctx = recordingContext();
    const http = new Http1Sniffer(ctx, NO_HAND_OVER);
    http.data(
      C,
      Buffer.from('GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n'),
    );
    http.data(S, Buffer.from('HTTP/1.1 200 OK\r\nContent-Le'));
    http.gap(S, 50);
    assert.equal(http.wants(S), false);
    assert.deepStrictEqual(
      ctx.units.map((u) => [u.http!.uri, u.http!.statusCode, u.err]),
      [
        ['/1', 200, 'gap in stream'],
        ['/2', 0, 'gap in stream'],
        ['/3', 0, 'gap in stream'],
      ],
    );
    // Requests that come later can never be answered either.
    http.data(C, Buffer.from('GET /4 HTTP/1.1\r\n\r\n'));
    http.end(C);
    http.end(S);
    assert.equal(ctx.units[3]!.err, 'gap in stream');
  });

  test('inside chunk data: absorbed; across the chunk end: the side stops', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    const absorbed = play(
      [
        [C, 'GET / HTTP/1.1\r\n\r\n'],
        [S, `${head}a\r\n0123`],
        [S, 'gap', 4],
        [S, '89\r\n0\r\n\r\n'],
      ],
      { httpBody: true },
    );
    const unit = only(absorbed);
    assert.equal(unit.err, '');
    assert.equal(unit.http!.response.contentLength, 10);
    assert.deepStrictEqual(unit.http!.response.body, Buffer.from('0123'));
    const cut = play(
      [
        [C, 'GET / HTTP/1.1\r\n\r\n'],
        [S, `${head}a\r\n0123`],
        [S, 'gap', 20],
      ],
      { httpBody: true },
    );
    assert.equal(only(cut).err, 'gap in stream');
  });

  test('at the end of a Content-Length body the message completes, then the side stops', () => {
    const ctx = play([
      [C, 'GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n'],
      [S, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01'],
      [S, 'gap', 30],
    ]);
    assert.deepStrictEqual(
      ctx.units.map((u) => [u.http!.uri, u.http!.statusCode, u.err]),
      [
        ['/1', 200, ''],
        ['/2', 0, 'gap in stream'],
      ],
    );
  });

  test('end of stream inside a body: recorded with unexpected EOF', () => {
    const unit = only(
      play(
        [
          [C, 'GET / HTTP/1.1\r\n\r\n'],
          [S, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01'],
        ],
        { httpBody: true },
      ),
    );
    assert.equal(unit.err, 'unexpected EOF');
    assert.equal(unit.http!.response.contentLength, 2);
  });
});
