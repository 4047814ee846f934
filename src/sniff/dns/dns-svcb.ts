/**
 * SvcParams, the tail of SVCB and HTTPS RDATA (RFC 9460 §2.2): `{key, length, value}` in strictly
 * increasing key order until the RDATA ends. Values are kept in presentation form (RFC 9460 §7), as
 * miekg prints them inside `key="…"`.
 */
import { escapeAlpnId, escapeSvcParam } from './dns-escape.ts';
import { ipv4Text, ipv6Text, isIpv4Mapped } from './dns-ip-text.ts';
import type { WireReader } from './dns-wire-reader.ts';

/** RFC 9460 §14.3.2, RFC 9461 §5 (dohpath), RFC 9540 §8 (ohttp). */
const SvcKey = {
  Mandatory: 0,
  Alpn: 1,
  NoDefaultAlpn: 2,
  Port: 3,
  Ipv4Hint: 4,
  Ech: 5,
  Ipv6Hint: 6,
  DohPath: 7,
  Ohttp: 8,
  /** RFC 9460 §14.3.2: "Invalid key". */
  Reserved: 65535,
} as const;

const KEY_NAMES: readonly string[] = [
  'mandatory',
  'alpn',
  'no-default-alpn',
  'port',
  'ipv4hint',
  'ech',
  'ipv6hint',
  'dohpath',
  'ohttp',
];

export interface SvcParam {
  key: number;
  /** Presentation form of the value ('' for the flag keys). */
  value: string;
}

/** `alpn`, `key65000`, … (RFC 9460 §2.1); miekg prints the invalid key 65535 as ''. */
export function svcKeyName(key: number): string {
  if (key === SvcKey.Reserved) return '';
  return KEY_NAMES[key] ?? `key${key}`;
}

const IPV4_LENGTH = 4;
const IPV6_LENGTH = 16;

/** Decodes the SvcParams up to the RDATA end; stops with `bad_svc_param` on a malformed one. */
export function readSvcParams(r: WireReader): SvcParam[] {
  const params: SvcParam[] = [];
  let lastKey = -1;
  while (!r.atEnd()) {
    if (r.remaining < 4) {
      r.fail('bad_svc_param');
      break;
    }
    const key = r.u16();
    const length = r.u16();
    // RFC 9460 §2.2: "SvcParamKeys SHALL appear in increasing numeric order"; 65535 is invalid.
    if (length > r.remaining || key === SvcKey.Reserved || key <= lastKey) {
      r.fail('bad_svc_param');
      break;
    }
    const start = r.pos;
    r.pos += length;
    const value = svcValueText(key, r.buf, start, start + length);
    if (value === null) {
      r.pos = start;
      r.fail('bad_svc_param');
      break;
    }
    params.push({ key, value });
    lastKey = key;
  }
  return params;
}

/** Presentation of one value; null when its length is impossible for the key (RFC 9460 §7). */
function svcValueText(key: number, buf: Buffer, start: number, end: number): string | null {
  const length = end - start;
  switch (key) {
    case SvcKey.Mandatory: {
      if (length % 2 !== 0) return null;
      const keys: string[] = [];
      for (let i = start; i < end; i += 2) keys.push(svcKeyName(buf.readUInt16BE(i)));
      return keys.join(',');
    }
    case SvcKey.Alpn: {
      const ids: string[] = [];
      for (let i = start; i < end;) {
        const n = buf[i]!;
        if (i + 1 + n > end) return null;
        ids.push(escapeAlpnId(buf, i + 1, i + 1 + n));
        i += 1 + n;
      }
      return ids.join(',');
    }
    case SvcKey.NoDefaultAlpn:
    case SvcKey.Ohttp:
      return length === 0 ? '' : null;
    case SvcKey.Port:
      return length === 2 ? String(buf.readUInt16BE(start)) : null;
    case SvcKey.Ipv4Hint: {
      if (length === 0 || length % IPV4_LENGTH !== 0) return null;
      const addrs: string[] = [];
      for (let i = start; i < end; i += IPV4_LENGTH) addrs.push(ipv4Text(buf, i));
      return addrs.join(',');
    }
    case SvcKey.Ech:
      return buf.toString('base64', start, end);
    case SvcKey.Ipv6Hint: {
      if (length === 0 || length % IPV6_LENGTH !== 0) return null;
      const addrs: string[] = [];
      for (let i = start; i < end; i += IPV6_LENGTH) {
        // miekg refuses IPv4-mapped hints (they belong in ipv4hint).
        if (isIpv4Mapped(buf, i)) return null;
        addrs.push(ipv6Text(buf, i));
      }
      return addrs.join(',');
    }
    default:
      // dohpath and unknown keys: the raw bytes, escaped.
      return escapeSvcParam(buf, start, end);
  }
}
