/**
 * The name a leaf is issued for, from whatever the gateway has: the client's SNI, the upstream
 * certificate's CN or the target `host[:port]`. Normalised so one host maps to one cache entry:
 * lower case, port and trailing dot stripped, IDNs as A-labels, IPv6 in RFC 5952 form without zone.
 *
 * Only exact names are issued: `*`, spaces, and any other character outside letters, digits, `-`,
 * `_` and `.` are rejected (TapgateError TG_ERR_USAGE), so a crafted SNI can never obtain a
 * wildcard certificate or smuggle text into the subject.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import { TapgateError } from '../../errors.ts';
import { ipToBytes } from '../../record/community-id.ts';

export type LeafName =
  | { readonly kind: 'dns'; readonly name: string }
  | { readonly kind: 'ip'; readonly name: string; readonly bytes: Uint8Array };

/** RFC 1035 §2.3.4 limits, in presentation form without the trailing dot. */
const MAX_NAME_LENGTH = 253;
const LABEL = /^[a-z0-9_-]{1,63}$/;
const PORT = /^\d{1,5}$/;

export function parseLeafName(input: string): LeafName {
  const host = stripPort(input);
  if (host === undefined) throw badName(input);
  const zone = host.indexOf('%');
  const address = zone < 0 ? host : host.slice(0, zone);
  if (isIPv4(address)) return { kind: 'ip', name: address, bytes: ipToBytes(address) };
  if (isIPv6(address)) {
    // The WHATWG URL serialiser prints the RFC 5952 form (lower case, longest zero run as ::).
    const name = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    return { kind: 'ip', name, bytes: ipToBytes(name) };
  }
  let name = host.toLowerCase();
  // eslint-disable-next-line no-control-regex -- the range is the point: any non-ASCII character
  if (/[^\x00-\x7f]/.test(name)) name = domainToASCII(name);
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) throw badName(input);
  if (!name.split('.').every((label) => LABEL.test(label))) throw badName(input);
  return { kind: 'dns', name };
}

/** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal → the host; undefined if malformed. */
function stripPort(input: string): string | undefined {
  if (input.startsWith('[')) {
    const close = input.indexOf(']');
    const rest = input.slice(close + 1);
    if (close < 0 || (rest !== '' && !(rest.startsWith(':') && PORT.test(rest.slice(1))))) {
      return undefined;
    }
    const inner = input.slice(1, close);
    return isIPv6(inner) ? inner : undefined;
  }
  if (isIPv6(input)) return input;
  const colon = input.indexOf(':');
  if (colon < 0) return input;
  return PORT.test(input.slice(colon + 1)) ? input.slice(0, colon) : undefined;
}

function badName(input: string): TapgateError {
  const shown = JSON.stringify(input.length > 300 ? `${input.slice(0, 300)}…` : input);
  return new TapgateError('TG_ERR_USAGE', `mitm: ${shown} is not a host name or IP address`);
}
