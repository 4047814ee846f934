/**
 * CIDR blocks for cutoff classes: `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a /32 or /128).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { TapgateError } from '../errors.ts';

export interface Cidr {
  readonly ipVersion: 4 | 6;
  /** Network address as 32-bit words (1 for IPv4, 4 for IPv6). */
  readonly words: Uint32Array;
  readonly prefixLen: number;
  readonly text: string;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const v4 = isIPv4(addr);
  if (!v4 && !isIPv6(addr)) {
    throw new TapgateError('TG_ERR_CONFIG', `"${text}" is not an IP address or CIDR block`);
  }
  const maxLen = v4 ? 32 : 128;
  const prefixText = slash < 0 ? String(maxLen) : text.slice(slash + 1);
  const prefixLen = Number(prefixText);
  if (!/^\d+$/.test(prefixText) || prefixLen > maxLen) {
    throw new TapgateError('TG_ERR_CONFIG', `"${text}": prefix length must be 0..${maxLen}`);
  }
  const words = v4 ? new Uint32Array([ipv4Word(addr)]) : ipv6Words(addr);
  for (let i = 0; i < words.length; i++) words[i] = words[i]! & maskWord(prefixLen, i);
  return { ipVersion: v4 ? 4 : 6, words, prefixLen, text };
}

/** Mask of word `i` (32 bits each) for a prefix length. */
function maskWord(prefixLen: number, i: number): number {
  const bits = Math.max(0, Math.min(32, prefixLen - i * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

export function cidrContains4(c: Cidr, addr: number): boolean {
  return c.ipVersion === 4 && (addr & maskWord(c.prefixLen, 0)) >>> 0 === c.words[0];
}

/** `data[offset .. offset + 16)` holds an IPv6 address. */
export function cidrContains6(c: Cidr, data: Buffer, offset: number): boolean {
  if (c.ipVersion !== 6) return false;
  for (let i = 0; i < 4; i++) {
    const m = maskWord(c.prefixLen, i);
    if (m === 0) return true;
    if ((data.readUInt32BE(offset + i * 4) & m) >>> 0 !== c.words[i]) return false;
  }
  return true;
}

function ipv4Word(addr: string): number {
  const p = addr.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

function ipv6Words(addr: string): Uint32Array {
  // Expand "::" and an embedded dotted quad into eight 16-bit groups.
  let text = addr;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const w = ipv4Word(dotted[1]!);
    text = text.slice(0, dotted.index) + `${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    words[i] = ((parseInt(groups[i * 2]!, 16) << 16) | parseInt(groups[i * 2 + 1]!, 16)) >>> 0;
  }
  return words;
}
