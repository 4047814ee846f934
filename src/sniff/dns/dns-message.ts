/**
 * DNS message parser (RFC 1035 §4.1): header, then the question, answer, authority and additional
 * sections, into plain objects that hold no reference to the input buffer.
 *
 * It never throws. The first problem stops parsing and is returned as a stable code next to the
 * message as far as it was read (sections hold the entries before the problem), so a sniffer can
 * still record and count a cut or hostile message. The header counts are only promises: entries
 * are read while bytes remain, nothing is sized from a count, and a count the bytes do not keep is
 * `truncated_section`.
 */
import { RrType } from './dns-constants.ts';
import type { EdnsOption } from './dns-edns.ts';
import type { DnsErrorCode } from './dns-errors.ts';
import { readName } from './dns-name.ts';
import { readRdata, type DnsRdata } from './dns-rdata.ts';
import { WireReader } from './dns-wire-reader.ts';

export const DNS_HEADER_LENGTH = 12;

/** RFC 1035 §4.1.1 and RFC 2535 §6.1 (AD, CD) header bits. */
const Flag = {
  QR: 0x8000,
  AA: 0x0400,
  TC: 0x0200,
  RD: 0x0100,
  RA: 0x0080,
  Z: 0x0040,
  AD: 0x0020,
  CD: 0x0010,
} as const;
const OPCODE_SHIFT = 11;
const NIBBLE = 0xf;
/** RFC 6891 §6.1.3: OPT's EXTENDED-RCODE holds the upper 8 bits above the header's 4. */
const HEADER_RCODE_BITS = 4;

export interface DnsHeader {
  id: number;
  /** QR: true for a response. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  /** The reserved Z bit (must be zero; shown by miekg as `z`). */
  z: boolean;
  ad: boolean;
  cd: boolean;
  /** The 4 RCODE bits of the header (see `DnsMessage.rcode` for the full value). */
  rcode: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
}

export interface DnsQuestion {
  /** Presentation form with the trailing dot (`example.com.`, `.` for the root). */
  name: string;
  type: number;
  class: number;
}

export interface DnsResourceRecord {
  name: string;
  type: number;
  /** For OPT: the requestor's UDP payload size (RFC 6891 §6.1.2). */
  class: number;
  /** Unsigned 32 bits as on the wire. For OPT: extended RCODE, version and flags. */
  ttl: number;
  rdlength: number;
  data: DnsRdata;
}

/** The OPT pseudo-RR, unpacked (RFC 6891 §6.1.3). */
export interface DnsEdns {
  udpSize: number;
  /** Upper 8 bits of the 12-bit RCODE. */
  extendedRcode: number;
  version: number;
  /** DO: DNSSEC answers wanted (RFC 3225). */
  dnssecOk: boolean;
  /** The 15 remaining flag bits (must be zero). */
  z: number;
  options: EdnsOption[];
}

export interface DnsMessage {
  header: DnsHeader;
  /** Full RCODE: header bits plus the OPT record's extended bits (RFC 6891 §6.1.3). */
  rcode: number;
  question: DnsQuestion[];
  answer: DnsResourceRecord[];
  authority: DnsResourceRecord[];
  /** OPT records stay here, as on the wire. */
  additional: DnsResourceRecord[];
  /** From the last OPT record of the additional section (as miekg picks it); null without EDNS. */
  edns: DnsEdns | null;
  /** Bytes of the message. */
  size: number;
}

export type DnsParseResult =
  | { ok: true; message: DnsMessage }
  | {
      ok: false;
      /** Null only when not even the header was there. */
      message: DnsMessage | null;
      error: DnsErrorCode;
      /** Offset of the problem within the message. */
      errorOffset: number;
    };

/** Parses one complete message. `data` is only read during the call. */
export function parseDnsMessage(data: Buffer): DnsParseResult {
  if (data.length < DNS_HEADER_LENGTH) {
    return { ok: false, message: null, error: 'truncated_header', errorOffset: data.length };
  }
  const header = readHeader(data);
  const r = new WireReader(data, DNS_HEADER_LENGTH, data.length, 'truncated_question');
  const message: DnsMessage = {
    header,
    rcode: header.rcode,
    question: [],
    answer: [],
    authority: [],
    additional: [],
    edns: null,
    size: data.length,
  };
  let short = false;
  for (let i = 0; i < header.qdcount && r.ok(); i++) {
    if (r.atEnd()) {
      short = true;
      break;
    }
    readQuestion(r, message.question);
  }
  r.shortCode = 'truncated_rr';
  short = readSection(r, header.ancount, message.answer) || short;
  short = readSection(r, header.nscount, message.authority) || short;
  short = readSection(r, header.arcount, message.additional) || short;
  if (short) r.fail('truncated_section');

  message.edns = ednsOf(message.additional);
  if (message.edns !== null) message.rcode |= message.edns.extendedRcode << HEADER_RCODE_BITS;
  if (r.error !== null) return { ok: false, message, error: r.error, errorOffset: r.errorAt };
  return { ok: true, message };
}

function readHeader(data: Buffer): DnsHeader {
  const flags = data.readUInt16BE(2);
  return {
    id: data.readUInt16BE(0),
    qr: (flags & Flag.QR) !== 0,
    opcode: (flags >> OPCODE_SHIFT) & NIBBLE,
    aa: (flags & Flag.AA) !== 0,
    tc: (flags & Flag.TC) !== 0,
    rd: (flags & Flag.RD) !== 0,
    ra: (flags & Flag.RA) !== 0,
    z: (flags & Flag.Z) !== 0,
    ad: (flags & Flag.AD) !== 0,
    cd: (flags & Flag.CD) !== 0,
    rcode: flags & NIBBLE,
    qdcount: data.readUInt16BE(4),
    ancount: data.readUInt16BE(6),
    nscount: data.readUInt16BE(8),
    arcount: data.readUInt16BE(10),
  };
}

/**
 * RFC 1035 §4.1.2. Like miekg, a question cut right after its name (or its type) at the very end of
 * the message is kept with the missing fields 0; unlike miekg, that is also reported.
 */
function readQuestion(r: WireReader, out: DnsQuestion[]): void {
  const name = readName(r);
  if (!r.ok()) return;
  const q: DnsQuestion = { name, type: 0, class: 0 };
  let complete = false;
  if (!r.atEnd()) {
    q.type = r.u16();
    if (!r.atEnd()) {
      q.class = r.u16();
      complete = true;
    }
  }
  if (!r.ok()) return;
  out.push(q);
  if (!complete) r.fail('truncated_question');
}

/** RFC 1035 §4.1.3 resource records; true when the bytes ended before `count` entries. */
function readSection(r: WireReader, count: number, out: DnsResourceRecord[]): boolean {
  for (let i = 0; i < count; i++) {
    if (!r.ok()) return false;
    if (r.atEnd()) return true;
    const rr = readRecord(r);
    if (rr !== null) out.push(rr);
  }
  return false;
}

function readRecord(r: WireReader): DnsResourceRecord | null {
  const name = readName(r);
  const type = r.u16();
  const cls = r.u16();
  const ttl = r.u32();
  const rdlength = r.u16();
  if (!r.ok()) return null;
  if (rdlength > r.remaining) {
    r.fail('truncated_rr');
    return null;
  }
  const rd = new WireReader(r.buf, r.pos, r.pos + rdlength, 'bad_rdata');
  const data = readRdata(type, rd);
  if (rd.ok() && rd.pos !== rd.end) rd.fail('bad_rdlength');
  if (rd.error !== null) {
    r.pos = rd.errorAt;
    r.fail(rd.error);
    return null;
  }
  r.pos = rd.end;
  return { name, type, class: cls, ttl, rdlength, data };
}

const EXTENDED_RCODE_SHIFT = 24;
const VERSION_SHIFT = 16;
const BYTE = 0xff;
const DO_BIT = 0x8000;
const EDNS_Z_MASK = 0x7fff;

function ednsOf(additional: DnsResourceRecord[]): DnsEdns | null {
  for (let i = additional.length - 1; i >= 0; i--) {
    const rr = additional[i]!;
    if (rr.type !== RrType.OPT || rr.data.kind !== 'opt') continue;
    return {
      udpSize: rr.class,
      extendedRcode: (rr.ttl >>> EXTENDED_RCODE_SHIFT) & BYTE,
      version: (rr.ttl >>> VERSION_SHIFT) & BYTE,
      dnssecOk: (rr.ttl & DO_BIT) !== 0,
      z: rr.ttl & EDNS_Z_MASK,
      options: rr.data.options,
    };
  }
  return null;
}
