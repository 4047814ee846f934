/**
 * looksLikeDnsMessage, the dispatcher's plausibility check: every well-formed corpus message is
 * accepted; the malformed tcpdump message (opcode 15), other protocols' first bytes, lying counts
 * and garbage are not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { looksLikeDnsMessage } from '../../src/sniff/dns/dns-sniffer.ts';
import { rng } from '../helpers/random.ts';
import { corpusCapture, udpDatagrams } from '../helpers/tshark-follow.ts';

test('every parsable corpus message looks like DNS', () => {
  for (const capture of [
    'sv-dns-a-aaaa-mx.pcap',
    'zk-dns-txt.pcap',
    'sv-dns-cname-rawip.pcap',
    'sv-dns-nxdomain.pcap',
    'sv-dns-sshfp-tc.pcap',
    'ps-dns-many-types.cap',
    'zk-dns-ipv6-frag.pcap',
  ]) {
    for (const d of udpDatagrams(corpusCapture(capture))) {
      assert.ok(looksLikeDnsMessage(d.payload), `${capture} frame ${d.frame}`);
    }
  }
});

test('the bad-label message (opcode 15, counts beyond its size) does not', () => {
  const [d] = udpDatagrams(corpusCapture('td-dns-badlabel-tc.pcap'));
  assert.ok(d);
  assert.equal(looksLikeDnsMessage(d.payload), false);
});

const query = Buffer.from('1a2b01000001000000000000076578616d706c6503636f6d0000010001', 'hex');

test('header and question checks', () => {
  assert.ok(looksLikeDnsMessage(query));
  const edit = (off: number, v: number): Buffer => {
    const b = Buffer.from(query);
    b[off] = v;
    return b;
  };
  assert.equal(looksLikeDnsMessage(query.subarray(0, 11)), false, 'short');
  assert.equal(looksLikeDnsMessage(edit(2, 0x19)), false, 'opcode 3');
  assert.equal(looksLikeDnsMessage(edit(7, 2)), false, 'two answers promised, no room');
  assert.equal(looksLikeDnsMessage(edit(5, 0)), false, 'query without a question');
  assert.equal(looksLikeDnsMessage(edit(12, 0xc0)), false, 'forward pointer as the first name');
  assert.equal(looksLikeDnsMessage(edit(28, 9)), false, 'class 9');
  assert.equal(looksLikeDnsMessage(edit(27, 0x80)), true, 'mDNS QU bit on class IN');
  assert.equal(looksLikeDnsMessage(query.subarray(0, query.length - 1)), false, 'cut class');
  // A response without a question (REFUSED, mDNS announcement) is plausible.
  assert.ok(looksLikeDnsMessage(Buffer.from('00008405000000000000000000', 'hex').subarray(0, 12)));
});

test("other protocols' first bytes and noise do not look like DNS", () => {
  assert.equal(
    looksLikeDnsMessage(Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n\r\n')),
    false,
  );
  assert.equal(looksLikeDnsMessage(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), false);
  assert.equal(
    looksLikeDnsMessage(
      Buffer.from('160301020001000200030300000000000000000000000000000000000000', 'hex'),
    ),
    false,
  );
  assert.equal(looksLikeDnsMessage(Buffer.alloc(64)), false);
  const rand = rng(53);
  let accepted = 0;
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.alloc(12 + Math.floor(rand() * 100));
    for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
    if (looksLikeDnsMessage(b)) accepted++;
  }
  assert.ok(accepted < 20, `random buffers accepted: ${accepted}`);
});
