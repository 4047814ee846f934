/**
 * ChunkQueue, the unconsumed-bytes list every stream sniffer parses from: views inside one chunk,
 * copies across chunks, leftovers that survive the caller reusing its buffers, and a property test
 * that replays random chunkings and random operations against a reference Buffer.concat.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChunkQueue } from '../../src/sniff/chunk-queue.ts';
import { rng } from '../helpers/random.ts';

describe('ChunkQueue', () => {
  test('views inside one chunk, copies across chunks, leftovers survive the caller scribbling', () => {
    const q = new ChunkQueue();
    const a = Buffer.from('hello wor');
    q.push(a);
    assert.equal(q.indexOf(0x0a, 100), -1);
    const view = q.consume(5);
    assert.equal(view.buffer, a.buffer); // a view, not a copy
    q.retain();
    a.fill(0x2e); // the caller reuses its buffer
    q.push(Buffer.from('ld\nrest'));
    assert.equal(q.indexOf(0x0a, 100), 6);
    assert.equal(q.consume(7).toString(), ' world\n');
    assert.equal(q.size, 4);
    assert.deepStrictEqual(Buffer.concat(q.drain()), Buffer.from('rest'));
    assert.equal(q.size, 0);
  });

  test('a line trickling in one byte per call is found at its end, its bytes intact', () => {
    const q = new ChunkQueue();
    const line = Buffer.from(`${'x'.repeat(20_000)}\n`);
    for (let i = 0; i < line.length; i++) {
      const one = Buffer.from([line[i]!]);
      q.push(one);
      const lf = q.indexOf(0x0a, 64 * 1024);
      assert.equal(lf, i === line.length - 1 ? i : -1);
      q.retain();
      one.fill(0);
    }
    assert.deepStrictEqual(q.consume(line.length), line);
  });

  test('consumeView stops at the end of the first chunk; skip clamps and counts', () => {
    const q = new ChunkQueue();
    q.push(Buffer.from('abc'));
    q.push(Buffer.from('defg'));
    assert.equal(q.consumeView(10).toString(), 'abc');
    assert.equal(q.consumeView(2).toString(), 'de');
    assert.equal(q.skip(10), 2);
    assert.equal(q.size, 0);
    assert.equal(q.skip(1), 0);
    assert.equal(q.consume(0).length, 0);
  });

  test('readU16BE reads a length prefix split across chunks', () => {
    const q = new ChunkQueue();
    q.push(Buffer.from([0x12]));
    q.retain();
    q.push(Buffer.from([0x34, 0x56, 0x78]));
    assert.equal(q.readU16BE(), 0x1234);
    assert.equal(q.readU16BE(), 0x5678);
    assert.equal(q.size, 0);
  });

  test('property: random chunking and operations agree with Buffer.concat', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rand = rng(seed);
      const int = (n: number): number => Math.floor(rand() * n);
      const q = new ChunkQueue();
      /** What the queue should hold: the reference. */
      let ref = Buffer.alloc(0);
      const take = (n: number): Buffer => {
        const out = ref.subarray(0, n);
        ref = ref.subarray(n);
        return Buffer.from(out);
      };
      // A small alphabet so that indexOf finds something now and then.
      const bytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => int(6)));
      for (let call = 0; call < 40; call++) {
        // One data() call: a few borrowed chunks, some reads, retain(), then the caller's
        // buffers are scribbled over.
        const borrowed: Buffer[] = [];
        for (let i = int(4); i >= 0; i--) {
          const chunk = bytes(int(3) === 0 ? 0 : 1 + int(int(2) === 0 ? 4 : 300));
          borrowed.push(chunk);
          q.push(chunk);
          ref = Buffer.concat([ref, chunk]);
        }
        for (let op = int(6); op > 0; op--) {
          const where = `seed ${seed} call ${call}`;
          assert.equal(q.size, ref.length, where);
          switch (int(8)) {
            case 0: {
              const n = int(ref.length + 1);
              assert.deepStrictEqual(q.consume(n), take(n), `${where} consume ${n}`);
              break;
            }
            case 1: {
              if (ref.length === 0) break;
              const max = 1 + int(ref.length + 20);
              const view = Buffer.from(q.consumeView(max));
              assert.ok(view.length >= 1 && view.length <= max, where);
              assert.deepStrictEqual(view, take(view.length), `${where} consumeView ${max}`);
              break;
            }
            case 2: {
              const n = int(ref.length + 20);
              const dropped = Math.min(n, ref.length);
              assert.equal(q.skip(n), dropped, `${where} skip ${n}`);
              take(dropped);
              break;
            }
            case 3: {
              if (ref.length === 0) break;
              const at = int(ref.length);
              assert.equal(q.byteAt(at), ref[at], `${where} byteAt ${at}`);
              break;
            }
            case 4: {
              // Repeated scans for one byte with growing limits exercise the resume memo.
              const byte = int(6);
              for (let limit = int(8); limit <= ref.length + 8; limit += 1 + int(50)) {
                const expected = ref.subarray(0, limit).indexOf(byte);
                assert.equal(q.indexOf(byte, limit), expected, `${where} indexOf ${byte} ${limit}`);
              }
              break;
            }
            case 5: {
              if (ref.length < 2) break;
              assert.equal(q.readU16BE(), take(2).readUInt16BE(0), `${where} readU16BE`);
              break;
            }
            case 6: {
              if (int(8) !== 0) break;
              const drained = Buffer.concat(q.drain());
              assert.deepStrictEqual(drained, take(ref.length), `${where} drain`);
              break;
            }
            default:
              if (int(16) !== 0) break;
              q.clear();
              ref = Buffer.alloc(0);
          }
        }
        q.retain();
        for (const b of borrowed) b.fill(0xee);
        assert.equal(q.size, ref.length);
      }
      assert.deepStrictEqual(q.consume(ref.length), take(ref.length), `seed ${seed}: the rest`);
    }
  });
});
