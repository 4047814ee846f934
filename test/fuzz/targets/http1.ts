/** HTTP/1 sniffer (with its h2c / WebSocket / CONNECT hand-overs to the real sniffers). */
import { Http1Sniffer } from '../../../src/sniff/http1/http1-sniffer.ts';
import { snifferFactories } from '../../../src/sniff/protocol-detector.ts';
import { havoc } from '../mutators.ts';
import type { Prng } from '../prng.ts';
import { streamSeeds } from '../seeds.ts';
import { dialogue, streamTarget } from '../stream-target.ts';

const METHOD = /^[A-Z]+ /;

const CL_VALUES = [
  '0',
  '1',
  '-1',
  '18446744073709551616',
  '99999999999',
  '1, 2',
  '0x10',
  '',
  ' 5 ',
];
const CHUNK_SIZES = ['0', 'ffffffffffffffff', '1;ext=1', 'g', '', '-1', '7fffffff', '00000000001'];
const HEADERS = [
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Content-Length: 5',
  'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__',
  'Content-Encoding: gzip',
  'Host: \u00ff\u0000',
  ' folded',
  'X-Empty:',
  ':bad',
  'Expect: 100-continue',
];

/** Content-Length values, chunk sizes, header counts, start lines, line ends. */
export function http1Structured(rng: Prng, data: Buffer): Buffer {
  let s = data.toString('latin1');
  switch (rng.int(8)) {
    case 0:
      s = s.replace(/(content-length:[ \t]*)[^\r\n]*/gi, (_m, h: string) =>
        rng.chance(0.7) ? h + rng.pick(CL_VALUES) : _m,
      );
      break;
    case 1:
      s = s.replace(/\r\n([0-9a-fA-F]+)(;[^\r\n]*)?\r\n/g, (m) =>
        rng.chance(0.5) ? `\r\n${rng.pick(CHUNK_SIZES)}\r\n` : m,
      );
      break;
    case 2: {
      // Repeat one header line many times.
      const lines = s.split('\r\n');
      const i = 1 + rng.int(Math.max(1, lines.length - 1));
      const line = (lines[i] ?? 'X-A: b').slice(0, 200);
      lines.splice(
        i,
        0,
        ...Array.from<string>({ length: rng.pick([2, 100, 257, 2000]) }).fill(line),
      );
      s = lines.join('\r\n');
      break;
    }
    case 3: {
      const at = s.indexOf('\r\n');
      s = at < 0 ? s : `${s.slice(0, at + 2)}${rng.pick(HEADERS)}\r\n${s.slice(at + 2)}`;
      break;
    }
    case 4:
      s = rng.chance(0.5) ? s.replace(/\r\n/g, '\n') : s.replace(/\r\n\r\n/, '\r\n');
      break;
    case 5:
      s = s.replace(METHOD, `${rng.pick(['CONNECT', 'HEAD', 'X', 'GET', 'PRI', 'OPTIONS'])} `);
      s = s.replace(/HTTP\/1\.[01]/, rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/1.', 'HTTP/9.9']));
      break;
    case 6:
      s = s.replace(/ (\d{3}) /, () => ` ${rng.pick(['100', '101', '204', '304', '999', '1'])} `);
      break;
    default:
      return havoc(rng, data);
  }
  return Buffer.from(s, 'latin1');
}

export const http1 = streamTarget({
  name: 'http1',
  about: 'HTTP/1 sniffer and its hand-overs (h2c, WebSocket, CONNECT)',
  seeds: (c) =>
    streamSeeds(
      c,
      (client, server) =>
        METHOD.test(client.toString('latin1', 0, 16)) ||
        server.toString('latin1', 0, 5) === 'HTTP/',
    ),
  extraSeeds: [
    dialogue(
      'POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok',
    ),
    dialogue(
      'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n',
      'HTTP/1.1 200 Connection established\r\n\r\n',
      '\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00',
    ),
  ],
  make: (ctx) => new Http1Sniffer(ctx, snifferFactories),
  structured: http1Structured,
});
