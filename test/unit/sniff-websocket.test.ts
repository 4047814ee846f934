/**
 * WebSocket frames on the corpus captures, through the HTTP/1 sniffer's upgrade: every frame tshark
 * reports (direction, fin, rsv, opcode, masked, payload length, close status) must be in the
 * records, fed whole, byte by byte and split at every offset.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Http1Sniffer } from '../../src/sniff/http1/http1-sniffer.ts';
import { FrameParser, type FrameSink } from '../../src/sniff/websocket/ws-frame-parser.ts';
import { MAX_BODY_SIZE_CAP, type SniffConfig } from '../../src/sniff/sniffer.ts';
import {
  assertCutIndependent,
  feedStream,
  NO_HAND_OVER,
  outcome,
  recordingContext,
  type FeedMode,
  type RecordingContext,
} from '../helpers/sniff-harness.ts';
import {
  corpusCapture,
  corpusExpected,
  followTcpStream,
  serverPortOf,
  type FollowChunk,
} from '../helpers/tshark-follow.ts';

interface TsharkFrame {
  stream: number;
  dir: 'c2s' | 's2c';
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload_len: number;
  close_status?: number;
}

const EVERY_FRAME: Partial<SniffConfig> = {
  websocketSampleRate: -1,
  httpBody: true,
  httpMaxBodySize: MAX_BODY_SIZE_CAP,
};

function sniff(chunks: FollowChunk[], mode: FeedMode, serverPort: number): RecordingContext {
  const ctx = recordingContext(EVERY_FRAME, { serverPort });
  feedStream(new Http1Sniffer(ctx, NO_HAND_OVER), chunks, mode);
  return ctx;
}

function sideBytes(chunks: FollowChunk[], side: 0 | 1): Buffer {
  return Buffer.concat(chunks.filter((c) => c.side === side).map((c) => c.data));
}

/** Close status codes of one direction's frames, read by a bare FrameParser. */
function closeCodes(bytes: Buffer, fromClient: boolean): number[] {
  const codes: number[] = [];
  const sink: FrameSink = {
    frameBegin: () => undefined,
    frameHeader: () => undefined,
    payload: () => undefined,
    payloadGap: () => undefined,
    frameEnd: (code) => {
      if (code >= 0) codes.push(code);
    },
    frameAbort: () => assert.fail('frame cut short'),
  };
  const parser = new FrameParser(recordingContext(), fromClient, sink);
  parser.data(bytes);
  parser.end();
  return codes;
}

/** `payload` unmasked with GOST's little-endian mask key. */
function unmask(payload: Buffer, maskKey: number): Buffer {
  return Buffer.from(payload.map((b, i) => b ^ ((maskKey >>> (8 * (i % 4))) & 0xff)));
}

const CAPTURES: { capture: string; errors: string[] }[] = [
  { capture: 'zk-ws-basic.pcap', errors: [] },
  { capture: 'zk-ws-two-binary-fragments.pcap', errors: [] },
  // The client's ping is not masked (RFC 6455 §5.1 requires it): counted, still recorded.
  { capture: 'sv-ws-ping-sll.pcap', errors: ['unmasked_client_frame'] },
  { capture: 'zk-ws-close-status.pcap', errors: [] },
];

describe('WebSocket corpus captures', () => {
  for (const { capture, errors } of CAPTURES) {
    test(capture, () => {
      const stream = followTcpStream(corpusCapture(capture), 0);
      const port = serverPortOf(stream);
      const ctx = sniff(stream.chunks, { kind: 'whole' }, port);
      assert.deepStrictEqual(
        ctx.errors,
        errors.map((code) => ({ proto: 'websocket', code })),
      );
      const expected = corpusExpected(capture, 'websocket') as unknown as TsharkFrame[];
      const upgradeRow = corpusExpected(capture, 'http')[0] as { host: string; uri: string };
      const frames = ctx.units.filter((u) => u.websocket !== undefined);
      for (const [dir, from] of [
        ['c2s', 'client'],
        ['s2c', 'server'],
      ] as const) {
        const ours = frames.filter((u) => u.websocket!.from === from);
        const theirs = expected.filter((f) => f.dir === dir);
        assert.equal(ours.length, theirs.length, `${from} frames`);
        theirs.forEach((t, i) => {
          const unit = ours[i]!;
          const ws = unit.websocket!;
          assert.equal(ws.fin, t.fin);
          assert.equal((ws.rsv1 ? 4 : 0) | (ws.rsv2 ? 2 : 0) | (ws.rsv3 ? 1 : 0), t.rsv);
          assert.equal(ws.opcode, t.opcode);
          assert.equal(ws.masked, t.masked);
          assert.equal(ws.length, t.payload_len);
          assert.equal(ws.payload?.length ?? 0, t.payload_len);
          assert.equal(ws.maskKey === 0, !t.masked);
          // A frame's bytes: 2-byte header (+2 for 126..65535, +4 for a mask key) and payload.
          const header = 2 + (t.payload_len > 125 ? 2 : 0) + (t.masked ? 4 : 0);
          assert.equal(
            from === 'client' ? unit.inputBytes : unit.outputBytes,
            header + t.payload_len,
          );
          assert.equal(from === 'client' ? unit.outputBytes : unit.inputBytes, 0);
          assert.equal(unit.proto, 'http');
          assert.equal(
            unit.host,
            `${upgradeRow.host}${upgradeRow.host.includes(':') ? '' : `:${port}`}`,
          );
          // The upgrade exchange, without bodies.
          const http = unit.http!;
          assert.equal(http.statusCode, 101);
          assert.equal(http.uri, upgradeRow.uri);
          assert.equal(http.host, upgradeRow.host);
          assert.equal(http.request.body, null);
          assert.ok(http.request.header!.has('Sec-Websocket-Key'));
        });
        const client = from === 'client';
        const codes = theirs.filter((f) => f.close_status !== undefined).map((f) => f.close_status);
        // In these captures the request and the 101 each travel alone in the first chunks.
        const [request, response] = stream.chunks;
        assert.ok(request!.data.toString('latin1').endsWith('\r\n\r\n'));
        assert.ok(response!.data.toString('latin1').endsWith('\r\n\r\n'));
        const requestHead = request!.data.length;
        const responseHead = response!.data.length;
        const bytes = client
          ? sideBytes(stream.chunks, 0).subarray(requestHead)
          : sideBytes(stream.chunks, 1).subarray(responseHead);
        assert.deepStrictEqual(closeCodes(bytes, client), codes);
      }
      // The upgrade itself comes last, with the totals of the whole connection.
      const upgrade = ctx.units.at(-1)!;
      assert.equal(upgrade.websocket, undefined);
      assert.equal(upgrade.http!.statusCode, 101);
      assert.equal(upgrade.inputBytes, sideBytes(stream.chunks, 0).length);
      assert.equal(upgrade.outputBytes, sideBytes(stream.chunks, 1).length);
      assert.equal(ctx.units.length, expected.length + 1);

      assert.deepStrictEqual(
        assertCutIndependent(stream.chunks, (mode) => outcome(sniff(stream.chunks, mode, port))),
        outcome(ctx),
      );
    });
  }

  test('payloads are kept as on the wire: masked for the client, mask key little-endian', () => {
    const stream = followTcpStream(corpusCapture('zk-ws-basic.pcap'), 0);
    const frames = sniff(stream.chunks, { kind: 'whole' }, 80).units.flatMap(
      (u) => u.websocket ?? [],
    );
    const text = (from: string, length: number) =>
      frames.find((f) => f.from === from && f.opcode === 1 && f.length === length)!;
    const clientText = text('client', 17);
    const serverText = text('server', 17);
    assert.notDeepStrictEqual(clientText.payload, Buffer.from('Hello, WebSocket!'));
    assert.deepStrictEqual(
      unmask(clientText.payload!, clientText.maskKey),
      Buffer.from('Hello, WebSocket!'),
    );
    assert.deepStrictEqual(serverText.payload, Buffer.from('Hello, WebSocket!'));
    const emulated = text('client', 140);
    assert.ok(
      unmask(emulated.payload!, emulated.maskKey)
        .toString('latin1')
        .startsWith('GET /echo HTTP/1.1\r\n'),
    );
    // The mask key's bytes on the wire, read little-endian.
    const clientFrame = stream.chunks.find((c) => c.side === 0 && c.data.length === 23)!.data;
    assert.equal(clientText.maskKey, clientFrame.readUInt32LE(2));
  });
});
