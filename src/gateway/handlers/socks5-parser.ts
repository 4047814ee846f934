/**
 * The client side of a SOCKS5 negotiation (RFC 1928, username/password: RFC 1929) as an explicit
 * state machine over a chunk queue. `push` queues bytes; `next` returns the next complete message,
 * or null when more bytes are needed (never an exception). The handler answers each message and
 * tells the parser which method it picked (`selectMethod`), since that decides what comes next.
 *
 *   Greeting ─► (selectMethod) ─┬─ 0x02 ─► Auth ─► Request ─► Done
 *                               └─ 0x00 ─────────► Request ─► Done
 *
 * Every field has a one-byte length, so a message is at most 513 bytes; `rest()` hands back what
 * the client sent after the request (it may not wait for the reply).
 */
import { ChunkQueue } from '../../sniff/chunk-queue.ts';
import { goIpString } from '../../sniff/client-ip.ts';

export const SOCKS_VERSION = 5;
/** RFC 1929 §2: the sub-negotiation's own version. */
export const AUTH_VERSION = 1;

export const Method = { NoAuth: 0x00, UserPass: 0x02, NoAcceptable: 0xff } as const;
export const Command = { Connect: 0x01, Bind: 0x02, UdpAssociate: 0x03 } as const;
export const AddrType = { Ipv4: 0x01, Domain: 0x03, Ipv6: 0x04 } as const;

/** RFC 1928 §6 reply codes. */
export const Reply = {
  Succeeded: 0x00,
  GeneralFailure: 0x01,
  NotAllowed: 0x02,
  NetworkUnreachable: 0x03,
  HostUnreachable: 0x04,
  ConnectionRefused: 0x05,
  TtlExpired: 0x06,
  CommandNotSupported: 0x07,
  AddressTypeNotSupported: 0x08,
} as const;

export type SocksMessage =
  | { type: 'greeting'; methods: number[] }
  | { type: 'auth'; username: string; password: string }
  | { type: 'request'; command: number; addrType: number; host: string; port: number }
  | { type: 'error'; message: string; reply: number };

const St = { Greeting: 0, AwaitMethod: 1, Auth: 2, Request: 3, Done: 4 } as const;
type St = (typeof St)[keyof typeof St];

export class Socks5Parser {
  readonly #queue = new ChunkQueue();
  #state: St = St.Greeting;

  push(data: Buffer): void {
    if (this.#state !== St.Done) this.#queue.push(data);
  }

  /** The next message, or null when the bytes so far do not complete one. */
  next(): SocksMessage | null {
    switch (this.#state) {
      case St.Greeting:
        return this.#greeting();
      case St.Auth:
        return this.#auth();
      case St.Request:
        return this.#request();
      case St.AwaitMethod:
      case St.Done:
        return null;
    }
  }

  /** The method the server chose for the greeting: what the client must send next. */
  selectMethod(method: number): void {
    if (this.#state !== St.AwaitMethod) return;
    this.#state =
      method === Method.UserPass ? St.Auth : method === Method.NoAuth ? St.Request : St.Done;
  }

  /** Bytes the client sent after its request (after `request`); the parser is done. */
  rest(): Buffer {
    this.#state = St.Done;
    const chunks = this.#queue.drain();
    return chunks.length === 1 ? Buffer.from(chunks[0]!) : Buffer.concat(chunks);
  }

  /** Bytes queued and not yet parsed. */
  get buffered(): number {
    return this.#queue.size;
  }

  #fail(message: string, reply: number = Reply.GeneralFailure): SocksMessage {
    this.#state = St.Done;
    this.#queue.clear();
    return { type: 'error', message, reply };
  }

  /** RFC 1928 §3: VER NMETHODS METHODS[NMETHODS]. */
  #greeting(): SocksMessage | null {
    const q = this.#queue;
    if (q.size < 2) return null;
    if (q.byteAt(0) !== SOCKS_VERSION)
      return this.#fail(`not SOCKS5 (version byte ${q.byteAt(0)})`);
    const n = q.byteAt(1);
    if (n === 0) return this.#fail('greeting offers no method');
    if (q.size < 2 + n) return null;
    q.skip(2);
    const methods = [...q.consume(n)];
    this.#state = St.AwaitMethod;
    return { type: 'greeting', methods };
  }

  /** RFC 1929 §2: VER ULEN UNAME PLEN PASSWD. */
  #auth(): SocksMessage | null {
    const q = this.#queue;
    if (q.size < 2) return null;
    if (q.byteAt(0) !== AUTH_VERSION) return this.#fail(`bad auth version ${q.byteAt(0)}`);
    const ulen = q.byteAt(1);
    if (q.size < 2 + ulen + 1) return null;
    const plen = q.byteAt(2 + ulen);
    if (q.size < 3 + ulen + plen) return null;
    q.skip(2);
    const username = q.consume(ulen).toString('utf8');
    q.skip(1);
    const password = q.consume(plen).toString('utf8');
    this.#state = St.Request;
    return { type: 'auth', username, password };
  }

  /** RFC 1928 §4: VER CMD RSV ATYP DST.ADDR DST.PORT. */
  #request(): SocksMessage | null {
    const q = this.#queue;
    if (q.size < 5) return null;
    if (q.byteAt(0) !== SOCKS_VERSION) return this.#fail(`bad request version ${q.byteAt(0)}`);
    const command = q.byteAt(1);
    const addrType = q.byteAt(3);
    let addrLen: number;
    let addrOff = 4;
    switch (addrType) {
      case AddrType.Ipv4:
        addrLen = 4;
        break;
      case AddrType.Ipv6:
        addrLen = 16;
        break;
      case AddrType.Domain:
        addrLen = q.byteAt(4);
        addrOff = 5;
        if (addrLen === 0) return this.#fail('empty domain name', Reply.HostUnreachable);
        break;
      default:
        return this.#fail(`address type ${addrType} not supported`, Reply.AddressTypeNotSupported);
    }
    if (q.size < addrOff + addrLen + 2) return null;
    q.skip(addrOff);
    const addr = q.consume(addrLen);
    const host =
      addrType === AddrType.Ipv4
        ? [...addr].join('.')
        : addrType === AddrType.Ipv6
          ? ipv6Text(addr)
          : addr.toString('latin1');
    const port = q.readU16BE();
    this.#state = St.Done;
    return { type: 'request', command, addrType, host, port };
  }
}

/** 16 bytes as IPv6 text, as Go prints it (RFC 5952; IPv4-mapped as IPv4). */
function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return goIpString(groups.join(':'));
}

/** A reply (RFC 1928 §6): VER REP RSV ATYP BND.ADDR BND.PORT. */
export function socksReply(reply: number, bindIp = '0.0.0.0', bindPort = 0): Buffer {
  const v6 = bindIp.includes(':');
  const out = Buffer.alloc(v6 ? 22 : 10);
  out[0] = SOCKS_VERSION;
  out[1] = reply;
  out[3] = v6 ? AddrType.Ipv6 : AddrType.Ipv4;
  if (v6) ipv6Bytes(bindIp).copy(out, 4);
  else bindIp.split('.').forEach((p, i) => (out[4 + i] = Number(p) & 0xff));
  out.writeUInt16BE(bindPort, v6 ? 20 : 8);
  return out;
}

function ipv6Bytes(ip: string): Buffer {
  const out = Buffer.alloc(16);
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...new Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, i * 2));
  return out;
}
