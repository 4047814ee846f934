/**
 * Bypass lists (gost-compat.md §4): which targets a service refuses (blacklist) or only allows
 * (whitelist). Semantics follow go-gost/x `bypass` and `internal/matcher` at 0132cef.
 *
 * Each pattern is put in the first class that takes it:
 *   CIDR      `10.0.0.0/8`, `2001:db8::/32`      an IP target inside the prefix; ports not supported
 *   wildcard  contains `*` or `?` and compiles    case-insensitive glob on the host (`*` crosses
 *             as a glob (`*.example.com:443`)     dots); optional `:port` / `:min-max`
 *   IP range  `10.0.0.1-10.0.0.50`, `10.0.0.9`    IPs in the range; the target's port is ignored
 *   address   anything else, lower-cased          `example.com` that host only; `.example.com` it and
 *             (`example.org:25`, `.corp:1-1024`)  every subdomain; optional `:port` / `:min-max`
 *
 * A target is `host:port`, `[v6]:port` or a bare host (then its port counts as 0, so it misses
 * every pattern that names a port). It is tested against the classes in the order IP range,
 * address, CIDR, wildcard; any hit is a match.
 *
 *   contains(network, target)
 *     bypass.network set and ≠ network ........ false
 *     no patterns ............................. network set: blacklist → true, whitelist → false;
 *                                               no network: false
 *     blacklist ............................... matched
 *     whitelist ............................... not matched
 *   group (`bypasses: [a, b]`): true when there are whitelists and all of them say true; otherwise
 *   true when any blacklist says true.
 */
import { BlockList, isIP } from 'node:net';

export interface BypassConfig {
  readonly name: string;
  /** Whitelist mode (`whitelist`, or its deprecated alias `reverse`). */
  readonly whitelist: boolean;
  /** `tcp` / `udp`; '' = any. */
  readonly network: string;
  readonly matchers: readonly string[];
}

export interface Bypass {
  readonly whitelist: boolean;
  /** True when `target` must not be reached (blacklisted, or missing from a whitelist). */
  contains(network: string, target: string): boolean;
}

/** Go's `net.SplitHostPort`: host and port, or null on the errors Go reports. */
export function splitHostPort(s: string): { host: string; port: string } | null {
  let host: string;
  let rest: string;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    host = s.slice(1, close);
    rest = s.slice(close + 1);
    if (!rest.startsWith(':')) return null;
    if (host.includes('[') || host.includes(']')) return null;
    return { host, port: rest.slice(1) };
  }
  const colon = s.lastIndexOf(':');
  if (colon < 0 || s.indexOf(':') !== colon) return null; // missing port / too many colons
  host = s.slice(0, colon);
  if (host.includes('[') || host.includes(']')) return null;
  return { host, port: s.slice(colon + 1) };
}

interface PortRange {
  min: number;
  max: number;
}

/** x/internal/net PortRange.Parse: `p` or `min-max`; null when it does not parse (= any port). */
function parsePortRange(s: string): PortRange | null {
  const parts = s.split('-');
  const num = (t: string): number => (/^[+-]?\d+$/.test(t) ? Number(t) : NaN);
  if (parts.length === 1) {
    const p = num(s);
    return Number.isNaN(p) || p < 0 || p > 65535 ? null : { min: p, max: p };
  }
  if (parts.length !== 2) return null;
  const min = num(parts[0]!);
  const max = num(parts[1]!);
  return Number.isNaN(min) || Number.isNaN(max) ? null : { min, max };
}

function portMatches(ranges: readonly (PortRange | null)[], port: number): boolean {
  return ranges.some((r) => r === null || (port >= r.min && port <= r.max));
}

/** Host and numeric port of a tested target (Go: Atoi of the port text, 0 when it fails). */
function targetParts(target: string): { host: string; port: number } {
  const hp = splitHostPort(target);
  if (hp === null) return { host: target, port: 0 };
  const port = /^[+-]?\d+$/.test(hp.port) ? Number(hp.port) : 0;
  return { host: hp.host === '' ? target : hp.host, port };
}

function family(ip: string): 'ipv4' | 'ipv6' | null {
  const f = isIP(ip);
  return f === 4 ? 'ipv4' : f === 6 ? 'ipv6' : null;
}

/** `ip/len` as Go's net.ParseCIDR takes it; null when it is not one. */
function parseCidrPattern(p: string): { ip: string; prefix: number; type: 'ipv4' | 'ipv6' } | null {
  const slash = p.indexOf('/');
  if (slash < 0) return null;
  const ip = p.slice(0, slash);
  const type = family(ip);
  const bits = p.slice(slash + 1);
  if (type === null || ip.includes('%') || !/^\d{1,3}$/.test(bits)) return null;
  const prefix = Number(bits);
  return prefix > (type === 'ipv4' ? 32 : 128) ? null : { ip, prefix, type };
}

/** x/internal/net IPRange.Parse: one IP or `min-max` (same family here). */
function parseIpRange(p: string): { min: string; max: string; type: 'ipv4' | 'ipv6' } | null {
  const parts = p.split('-').map((s) => s.trim());
  if (parts.length < 1 || parts.length > 2) return null;
  const min = parts[0]!;
  const max = parts[1] ?? min;
  const type = family(min);
  if (type === null || family(max) !== type || min.includes('%') || max.includes('%')) return null;
  return { min, max, type };
}

/**
 * A gobwas/glob pattern (no separators: `*` also crosses dots) as an anchored RegExp: `*`, `?`,
 * `[abc]`, `[!a-z]`, `{a,b}`, `\` escapes. Null when it does not compile (GOST then treats the
 * pattern as an address).
 */
export function compileGlob(pattern: string): RegExp | null {
  let out = '';
  let braces = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    switch (c) {
      case '*':
        out += '.*';
        break;
      case '?':
        out += '.';
        break;
      case '\\':
        if (i + 1 >= pattern.length) return null;
        out += escapeRegExp(pattern[++i]!);
        break;
      case '[': {
        const close = pattern.indexOf(']', i + 2);
        if (close < 0) return null;
        let body = pattern.slice(i + 1, close);
        const negated = body.startsWith('!');
        if (negated) body = body.slice(1);
        if (body === '') return null;
        out += `[${negated ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
        i = close;
        break;
      }
      case '{':
        braces++;
        out += '(?:';
        break;
      case '}':
        if (braces === 0) return null;
        braces--;
        out += ')';
        break;
      case ',':
        out += braces > 0 ? '|' : ',';
        break;
      default:
        out += escapeRegExp(c);
    }
  }
  if (braces !== 0) return null;
  try {
    return new RegExp(`^${out}$`, 's');
  } catch {
    return null;
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

interface WildcardPattern {
  glob: RegExp;
  ports: readonly (PortRange | null)[];
}

/** One `bypasses[]` entry. */
export class PatternBypass implements Bypass {
  readonly name: string;
  readonly whitelist: boolean;
  readonly #network: string;
  readonly #cidrs = new BlockList();
  readonly #ranges = new BlockList();
  /** Lower-cased host (possibly `.suffix`) → port ranges (null = any port). */
  readonly #addrs = new Map<string, (PortRange | null)[]>();
  readonly #wildcards: WildcardPattern[] = [];
  readonly #empty: boolean;

  constructor(cfg: BypassConfig) {
    this.name = cfg.name;
    this.whitelist = cfg.whitelist;
    this.#network = cfg.network;
    for (const pattern of cfg.matchers) this.#add(pattern);
    this.#empty = cfg.matchers.length === 0;
  }

  contains(network: string, target: string): boolean {
    if (this.#network !== '' && network !== '' && this.#network !== network) return false;
    if (this.#empty) return this.#network !== '' && !this.whitelist;
    if (target === '') return false;
    const matched = this.matches(target);
    return this.whitelist ? !matched : matched;
  }

  /** Whether any pattern matches `target`, whatever the list's mode. */
  matches(target: string): boolean {
    const { host, port } = targetParts(target);
    const type = family(host);
    if (type !== null && this.#ranges.check(host, type)) return true;
    if (this.#matchAddr(host.toLowerCase(), port)) return true;
    if (type !== null && this.#cidrs.check(host, type)) return true;
    const lower = host.toLowerCase();
    return this.#wildcards.some((w) => w.glob.test(lower) && portMatches(w.ports, port));
  }

  #add(pattern: string): void {
    const cidr = parseCidrPattern(pattern);
    if (cidr !== null) {
      this.#cidrs.addSubnet(cidr.ip, cidr.prefix, cidr.type);
      return;
    }
    if (/[*?]/.test(pattern)) {
      const hp = splitHostPort(pattern);
      const glob = compileGlob((hp?.host ?? pattern).toLowerCase());
      if (glob !== null) {
        const ports = hp === null ? null : parsePortRange(hp.port);
        this.#wildcards.push({ glob, ports: [ports] });
        return;
      }
    }
    const range = parseIpRange(pattern);
    if (range !== null) {
      try {
        this.#ranges.addRange(range.min, range.max, range.type);
        return;
      } catch {
        // min > max: the range holds nothing (Go's Contains never matches); treat it as an address
      }
    }
    const hp = splitHostPort(pattern);
    const host = (hp === null || hp.host === '' ? pattern : hp.host).toLowerCase();
    const ports = hp === null || hp.host === '' ? null : parsePortRange(hp.port);
    const list = this.#addrs.get(host);
    if (list === undefined) this.#addrs.set(host, [ports]);
    else list.push(ports);
  }

  /** x/internal/matcher addrMatcher.Match: the host, `.host`, then each `.suffix` of it. */
  #matchAddr(host: string, port: number): boolean {
    const addrs = this.#addrs;
    if (addrs.size === 0) return false;
    const exact = addrs.get(host);
    if (exact !== undefined && portMatches(exact, port)) return true;
    const dotted = addrs.get(`.${host}`);
    if (dotted !== undefined && portMatches(dotted, port)) return true;
    for (let h = host; ;) {
      const dot = h.indexOf('.');
      if (dot <= 0) return false;
      const suffix = addrs.get(h.slice(dot));
      if (suffix !== undefined && portMatches(suffix, port)) return true;
      h = h.slice(dot + 1);
    }
  }
}

/** Several lists on one service (`bypasses: [a, b]`). */
export class BypassGroup implements Bypass {
  readonly whitelist = false;
  readonly #members: readonly Bypass[];

  constructor(members: readonly Bypass[]) {
    this.#members = members;
  }

  contains(network: string, target: string): boolean {
    const white: boolean[] = [];
    const black: boolean[] = [];
    for (const b of this.#members) (b.whitelist ? white : black).push(b.contains(network, target));
    if (white.length > 0 && !white.includes(false)) return true;
    return black.includes(true);
  }
}

/** The bypass of a service that names `names` (null when it names none). */
export function bypassFor(
  names: readonly string[],
  byName: ReadonlyMap<string, Bypass>,
): Bypass | null {
  const members = names.map((n) => byName.get(n)).filter((b): b is Bypass => b !== undefined);
  if (members.length === 0) return null;
  return members.length === 1 ? members[0]! : new BypassGroup(members);
}
