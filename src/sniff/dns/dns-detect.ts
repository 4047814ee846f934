/**
 * A cheap "is this a DNS message?" test for the dispatcher: header fields that make sense, counts
 * that fit in the bytes, and a first question that parses. It reads one name and never allocates
 * per byte.
 */
import { Opcode } from './dns-constants.ts';
import { DNS_HEADER_LENGTH } from './dns-message.ts';
import { readName } from './dns-name.ts';
import { WireReader } from './dns-wire-reader.ts';

/** RFC 8490 DSO: the one opcode whose messages carry no question. */
const OPCODE_DSO = 6;
const KNOWN_OPCODES: ReadonlySet<number> = new Set([
  Opcode.Query,
  Opcode.IQuery,
  Opcode.Status,
  Opcode.Notify,
  Opcode.Update,
  OPCODE_DSO,
]);
/** Smallest question: the root name, type, class. */
const MIN_QUESTION_BYTES = 5;
/** Smallest RR: the root name, type, class, TTL, RDLENGTH. */
const MIN_RR_BYTES = 11;
/** Classes seen in real traffic: IN, CH, HS, NONE, ANY (RFC 6895 §3.2). */
const PLAUSIBLE_CLASSES: ReadonlySet<number> = new Set([1, 3, 4, 254, 255]);
/** mDNS puts its unicast-response / cache-flush flag in the class's top bit (RFC 6762 §5.4). */
const CLASS_MASK = 0x7fff;

export function looksLikeDnsMessage(data: Buffer): boolean {
  if (data.length < DNS_HEADER_LENGTH) return false;
  const opcode = (data[2]! >> 3) & 0xf;
  if (!KNOWN_OPCODES.has(opcode)) return false;
  const qd = data.readUInt16BE(4);
  const rrs = data.readUInt16BE(6) + data.readUInt16BE(8) + data.readUInt16BE(10);
  if (qd * MIN_QUESTION_BYTES + rrs * MIN_RR_BYTES > data.length - DNS_HEADER_LENGTH) return false;
  if (qd === 0) return opcode === OPCODE_DSO || (data[2]! & 0x80) !== 0;
  const r = new WireReader(data, DNS_HEADER_LENGTH, data.length, 'truncated_question');
  readName(r);
  r.u16(); // type: any value
  const cls = r.u16() & CLASS_MASK;
  return r.ok() && PLAUSIBLE_CLASSES.has(cls);
}
