/**
 * Pairs the queries and responses of one flow (UDP) or connection (TCP) and emits one record per
 * query. Transport-independent: the sniffers hand it complete messages.
 *
 *   message(side, bytes) ─ parse ─┬─ QR=0 ─► pending (FIFO, ≤ MAX_PENDING_QUERIES and
 *                                 │          ≤ MAX_PENDING_DUMP_CHARS; overflow emits the oldest
 *                                 │          unanswered)
 *                                 └─ QR=1 ─► oldest pending with the same id (and question, when
 *                                            the response has one) ─► emit the pair
 *                                            none ─► emit the response alone, count it
 *   flush() ─► emit every pending query unanswered (end = start)
 *
 * The QR bit, not the side, says which is which, so a flow whose first packet was the server's is
 * still paired; the side only tells which address is the server (`host`). A pending query keeps
 * only strings and numbers, never the message bytes.
 */
import { joinHostPort } from '../../record/record-builder.ts';
import type { DnsAnswerRecord, DnsRecord, RecordUnit } from '../../record/record-types.ts';
import { Side, type SniffContext, type Timestamp } from '../sniffer.ts';
import { classToString, rcodeToString, typeToString } from './dns-constants.ts';
import { parseDnsMessage, type DnsMessage, type DnsResourceRecord } from './dns-message.ts';
import { rdataText } from './dns-rdata-text.ts';
import { dnsMessageText } from './dns-text.ts';

export const MAX_PENDING_QUERIES = 256;
/**
 * Text dumps held for pending queries. A query may be up to 64 KiB (and its dump a few times
 * that), so the count cap alone would let one connection hold tens of MB.
 */
export const MAX_PENDING_DUMP_CHARS = 1024 * 1024;

const PROTO = 'dns';

/** The first question, in the record's terms. */
interface QuestionInfo {
  name: string;
  class: string;
  type: string;
  /** Case-folded name, type and class: what a response must echo. '' without a question. */
  key: string;
}

interface PendingQuery {
  id: number;
  question: QuestionInfo;
  text: string;
  bytes: number;
  start: Timestamp;
  host: string;
  err: string;
}

export class DnsExchangeTable {
  readonly #ctx: SniffContext;
  readonly #network: 'udp' | 'tcp';
  /** Oldest first. A handful in practice; a linear scan beats a map at this size. */
  readonly #pending: PendingQuery[] = [];
  /** Sum of the pending queries' dump lengths. */
  #pendingChars = 0;

  constructor(ctx: SniffContext, network: 'udp' | 'tcp') {
    this.#ctx = ctx;
    this.#network = network;
  }

  /** One complete message from `side`; `wireBytes` counts it as sent (TCP: with its prefix). */
  message(side: Side, data: Buffer, wireBytes: number): void {
    const result = parseDnsMessage(data);
    if (!result.ok) this.#ctx.parseError(PROTO, result.error);
    const msg = result.message;
    if (msg === null) return;
    const err = result.ok ? '' : result.error;
    if (msg.header.qr) this.#response(side, msg, wireBytes, err);
    else this.#query(side, msg, wireBytes, err);
  }

  /** Emits every query still waiting, unanswered. */
  flush(): void {
    for (const q of this.#pending) this.#emit(q, null, q.start);
    this.#pending.length = 0;
    this.#pendingChars = 0;
  }

  #query(side: Side, msg: DnsMessage, bytes: number, err: string): void {
    const text = dnsMessageText(msg);
    while (
      this.#pending.length > 0 &&
      (this.#pending.length >= MAX_PENDING_QUERIES ||
        this.#pendingChars + text.length > MAX_PENDING_DUMP_CHARS)
    ) {
      const oldest = this.#take(0);
      this.#emit(oldest, null, oldest.start);
    }
    this.#pending.push({
      id: msg.header.id,
      question: questionInfo(msg),
      text,
      bytes,
      start: this.#ctx.now(),
      // The query goes to the server: the other side.
      host: this.#host(side === Side.Client ? Side.Server : Side.Client),
      err: err === '' ? '' : `dns query: ${err}`,
    });
    this.#pendingChars += text.length;
  }

  /** Removes and returns pending query `i`. */
  #take(i: number): PendingQuery {
    const [q] = this.#pending.splice(i, 1);
    this.#pendingChars -= q!.text.length;
    return q!;
  }

  #response(side: Side, msg: DnsMessage, bytes: number, err: string): void {
    const question = questionInfo(msg);
    const id = msg.header.id;
    let i = 0;
    for (; i < this.#pending.length; i++) {
      const q = this.#pending[i]!;
      if (q.id === id && (question.key === '' || q.question.key === question.key)) break;
    }
    const now = this.#ctx.now();
    const response = { msg, bytes, err: err === '' ? '' : `dns response: ${err}` };
    if (i < this.#pending.length) {
      this.#emit(this.#take(i), response, now);
      return;
    }
    // A response without its query (the capture started late, or a duplicate response).
    this.#ctx.parseError(PROTO, 'response_without_query');
    const orphan: PendingQuery = {
      id,
      question,
      text: '',
      bytes: 0,
      start: now,
      host: this.#host(side),
      err: '',
    };
    this.#emit(orphan, response, now);
  }

  #emit(
    query: PendingQuery,
    response: { msg: DnsMessage; bytes: number; err: string } | null,
    end: Timestamp,
  ): void {
    const dns: DnsRecord = {
      id: query.id,
      name: query.question.name,
      class: query.question.class,
      type: query.question.type,
      question: query.text,
      answer: response === null ? '' : dnsMessageText(response.msg),
      cached: false,
      rcode: response === null ? '' : rcodeName(response.msg.rcode),
      answers: response === null ? [] : response.msg.answer.map(answerRecord),
    };
    const err = [query.err, response?.err ?? ''].filter((e) => e !== '').join('; ');
    const unit: RecordUnit = {
      proto: PROTO,
      scope: 'unit',
      host: query.host,
      clientIP: '',
      dns,
      inputBytes: query.bytes,
      outputBytes: response?.bytes ?? 0,
      start: query.start,
      end,
      err,
    };
    this.#ctx.emit(unit);
  }

  /** `udp://192.0.2.53:53`, `tcp://[2001:db8::53]:53`: the address of `side`. */
  #host(side: Side): string {
    const ep = this.#ctx.endpoints;
    const ip = side === Side.Server ? ep.serverIp : ep.clientIp;
    const port = side === Side.Server ? ep.serverPort : ep.clientPort;
    return `${this.#network}://${joinHostPort(ip, port)}`;
  }
}

function questionInfo(msg: DnsMessage): QuestionInfo {
  const q = msg.question[0];
  if (q === undefined) return { name: '', class: '', type: '', key: '' };
  return {
    name: q.name,
    class: classToString(q.class),
    type: typeToString(q.type),
    key: `${q.name.toLowerCase()}|${q.type}|${q.class}`,
  };
}

/** The mnemonic, or the number when miekg has no name for it. */
function rcodeName(rcode: number): string {
  const name = rcodeToString(rcode);
  return name === '' ? String(rcode) : name;
}

function answerRecord(rr: DnsResourceRecord): DnsAnswerRecord {
  return {
    name: rr.name,
    type: typeToString(rr.type),
    class: classToString(rr.class),
    ttl: rr.ttl,
    data: rdataText(rr),
  };
}
