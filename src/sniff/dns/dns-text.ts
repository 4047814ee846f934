/**
 * The dig-style dump GOST records as `dns.question` / `dns.answer`: miekg/dns v1.1.61
 * `Msg.String()` byte for byte (msg.go `MsgHdr.String`, `Msg.String`; types.go `RR_Header.String`,
 * `Question.String`; edns.go `OPT.String`):
 *
 *   ;; opcode: QUERY, status: NOERROR, id: 6701
 *   ;; flags: qr rd ra; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 1
 *
 *   ;; OPT PSEUDOSECTION:
 *   ; EDNS: version 0; flags:; udp: 512
 *
 *   ;; QUESTION SECTION:
 *   ;google.com.	IN	 A
 *
 *   ;; ANSWER SECTION:
 *   google.com.	299	IN	A	216.197.242.244
 *
 * The counts are those of the entries parsed, the status includes the EDNS extended RCODE, and an
 * opcode or rcode miekg has no name for prints as ''. UPDATE messages use RFC 2136's section names.
 */
import {
  classToString,
  isMiekgKnownType,
  Opcode,
  opcodeToString,
  RrType,
  rcodeToString,
  typeToString,
} from './dns-constants.ts';
import { optText } from './dns-edns-text.ts';
import type { DnsMessage, DnsQuestion, DnsResourceRecord } from './dns-message.ts';
import { rdataText } from './dns-rdata-text.ts';

/** `Msg.String()` of a parsed message. */
export function dnsMessageText(msg: DnsMessage): string {
  const h = msg.header;
  const update = h.opcode === Opcode.Update;
  const parts: string[] = [
    `;; opcode: ${opcodeToString(h.opcode)}, status: ${rcodeToString(msg.rcode)}, id: ${h.id}\n`,
    `;; flags:${flagsText(msg)}; `,
    update ? 'ZONE: ' : 'QUERY: ',
    `${msg.question.length}, `,
    update ? 'PREREQ: ' : 'ANSWER: ',
    `${msg.answer.length}, `,
    update ? 'UPDATE: ' : 'AUTHORITY: ',
    `${msg.authority.length}, ADDITIONAL: ${msg.additional.length}\n`,
  ];
  const opt = lastOpt(msg.additional);
  if (opt !== null) parts.push(optText(opt), '\n');
  if (msg.question.length > 0) {
    parts.push(update ? '\n;; ZONE SECTION:\n' : '\n;; QUESTION SECTION:\n');
    for (const q of msg.question) parts.push(questionText(q), '\n');
  }
  if (msg.answer.length > 0) {
    parts.push(update ? '\n;; PREREQUISITE SECTION:\n' : '\n;; ANSWER SECTION:\n');
    for (const rr of msg.answer) parts.push(rrText(rr), '\n');
  }
  if (msg.authority.length > 0) {
    parts.push(update ? '\n;; UPDATE SECTION:\n' : '\n;; AUTHORITY SECTION:\n');
    for (const rr of msg.authority) parts.push(rrText(rr), '\n');
  }
  // The OPT record is shown as the pseudo-section above, not here.
  if (msg.additional.length > 0 && (opt === null || msg.additional.length > 1)) {
    parts.push('\n;; ADDITIONAL SECTION:\n');
    for (const rr of msg.additional) if (rr.type !== RrType.OPT) parts.push(rrText(rr), '\n');
  }
  return parts.join('');
}

function flagsText(msg: DnsMessage): string {
  const h = msg.header;
  let s = '';
  if (h.qr) s += ' qr';
  if (h.aa) s += ' aa';
  if (h.tc) s += ' tc';
  if (h.rd) s += ' rd';
  if (h.ra) s += ' ra';
  if (h.z) s += ' z';
  if (h.ad) s += ' ad';
  if (h.cd) s += ' cd';
  return s;
}

/** miekg's `IsEdns0()`: the last OPT record of the additional section. */
function lastOpt(additional: DnsResourceRecord[]): DnsResourceRecord | null {
  for (let i = additional.length - 1; i >= 0; i--) {
    if (additional[i]!.type === RrType.OPT) return additional[i]!;
  }
  return null;
}

/** `Question.String()`: `;name.<TAB>IN<TAB> A` (the space before the type is miekg's). */
function questionText(q: DnsQuestion): string {
  return `;${q.name}\t${classToString(q.class)}\t ${typeToString(q.type)}`;
}

/** `RR.String()`: `name<TAB>ttl<TAB>class<TAB>type<TAB>rdata`. */
export function rrText(rr: DnsResourceRecord): string {
  // An OPT outside the additional section prints as its pseudo-section, as in miekg.
  if (rr.type === RrType.OPT) return optText(rr);
  // A type miekg does not know is printed entirely the RFC 3597 way, header included.
  if (!isMiekgKnownType(rr.type)) {
    return `${rr.name}\t${rr.ttl}\tCLASS${rr.class}\tTYPE${rr.type}\t${rdataText(rr)}`;
  }
  return `${rr.name}\t${rr.ttl}\t${classToString(rr.class)}\t${typeToString(rr.type)}\t${rdataText(rr)}`;
}
