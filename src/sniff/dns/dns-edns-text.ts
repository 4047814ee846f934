/**
 * The OPT pseudo-section of the text dump, byte for byte as miekg/dns v1.1.61 `OPT.String()`:
 *
 *   \n;; OPT PSEUDOSECTION:\n; EDNS: version 0; flags: do; udp: 1232\n; COOKIE: 0123…
 */
import { DNSSEC_ALGORITHM_NAMES, DNSSEC_HASH_NAMES, EDE_NAMES } from './dns-constants.ts';
import type { EdnsOption } from './dns-edns.ts';
import type { DnsResourceRecord } from './dns-message.ts';

const DO_BIT = 0x8000;
const MBZ_MASK = 0x7fff;
const VERSION_SHIFT = 16;
const BYTE = 0xff;
/** A keep-alive timeout counts units of 100 ms (RFC 7828 §3.1). */
const KEEPALIVE_UNIT_MS = 100;

/** `OPT.String()` of an OPT record (its options are empty if the RDATA was not OPT-shaped). */
export function optText(rr: DnsResourceRecord): string {
  const version = (rr.ttl >>> VERSION_SHIFT) & BYTE;
  const mbz = rr.ttl & MBZ_MASK;
  let s = `\n;; OPT PSEUDOSECTION:\n; EDNS: version ${version}; `;
  s += (rr.ttl & DO_BIT) !== 0 ? 'flags: do; ' : 'flags:; ';
  if (mbz !== 0) s += `MBZ: 0x${mbz.toString(16).padStart(4, '0')}, `;
  s += `udp: ${rr.class}`;
  if (rr.data.kind === 'opt') for (const o of rr.data.options) s += optionLine(o);
  return s;
}

function optionLine(o: EdnsOption): string {
  switch (o.kind) {
    case 'nsid': {
      // miekg shows the hex, two spaces, then each byte as a character in parentheses.
      const chars = Array.from(Buffer.from(o.hex, 'hex'), (b) => `(${String.fromCharCode(b)})`);
      return `\n; NSID: ${o.hex}  ${chars.join('')}`;
    }
    case 'subnet': {
      const addr = o.address.includes(':') ? `[${o.address}]` : o.address;
      return `\n; SUBNET: ${addr}/${o.sourcePrefix}/${o.scopePrefix}`;
    }
    case 'cookie':
      return `\n; COOKIE: ${o.hex}`;
    case 'expire':
      return `\n; EXPIRE: ${o.seconds === null ? '' : String(o.seconds)}`;
    case 'keepalive':
      return o.timeout === 0
        ? '\n; KEEPALIVE: use tcp keep-alive, timeout omitted'
        : `\n; KEEPALIVE: use tcp keep-alive, timeout ${o.timeout * KEEPALIVE_UNIT_MS}ms`;
    case 'update-lease':
      return `\n; UPDATE LEASE: ${o.lease} ${o.keyLease}`;
    case 'llq':
      return `\n; LONG LIVED QUERIES: ${o.version} ${o.opcode} ${o.error} ${o.id} ${o.leaseLife}`;
    case 'dau':
      return `\n; DNSSEC ALGORITHM UNDERSTOOD: ${algorithmList(o.algorithms, DNSSEC_ALGORITHM_NAMES)}`;
    case 'dhu':
      return `\n; DS HASH UNDERSTOOD: ${algorithmList(o.algorithms, DNSSEC_HASH_NAMES)}`;
    case 'n3u':
      return `\n; NSEC3 HASH UNDERSTOOD: ${algorithmList(o.algorithms, DNSSEC_HASH_NAMES)}`;
    case 'local':
      return `\n; LOCAL OPT: ${o.code}:0x${o.hex}`;
    case 'padding':
      return `\n; PADDING: ${o.hex.toUpperCase()}`;
    case 'ede': {
      const name = EDE_NAMES[o.infoCode];
      const info = name === undefined ? String(o.infoCode) : `${o.infoCode} (${name})`;
      return `\n; EDE: ${info}: (${o.extraText})`;
    }
    case 'esu':
      return `\n; ESU: ${o.uri}`;
  }
}

/** Each number as ` NAME` (or ` 42`), so the list starts with a space, as in miekg. */
function algorithmList(algorithms: number[], names: ReadonlyMap<number, string>): string {
  return algorithms.map((a) => ` ${names.get(a) ?? String(a)}`).join('');
}
