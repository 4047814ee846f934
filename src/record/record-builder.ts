/**
 * Turns what a sniffer emitted (a RecordUnit) into a complete GOST record: the unit's own fields
 * plus the facts of the connection it came from (`assembleRecord`). Two sources of facts:
 *
 * - A passive flow (`buildRecord`). Passive capture has no accepted connection, so the mapping
 *   follows GOST's transparent proxy (`red`/TPROXY) records (gost-compat.md §1.8): `remote` is the
 *   client, `local` and `dst` the server, `src` and `client` empty, one `sid` per flow. tapgate's
 *   per-flow facts go after `time` in the `flow` extension.
 * - A gateway connection (src/gateway/gateway-sniffer.ts): the accepted and the upstream socket's
 *   addresses, the authenticated user, the route.
 *
 * A unit of scope `connection` (TLS pass-through, unknown protocol) takes its byte counts and times
 * from the connection; a unit of scope `unit` (an HTTP exchange, a frame) keeps its own.
 */
import { nsBetween, type ConnectionEndpoints, type Timestamp } from '../sniff/sniffer.ts';
import type { FlowExtension, GostRecord, RecordUnit } from './record-types.ts';

/** What a record takes from the connection its unit belongs to (gost-compat.md §1.1). */
export interface ConnectionFacts {
  network: string;
  /** Peer of the accepted connection (passive: the client). */
  remote: string;
  /** Local end of the accepted connection (passive: the server). */
  local: string;
  client: string;
  /** Local and remote address of the upstream connection ('' when none). */
  src: string;
  dst: string;
  /** `host` of units that have none. */
  host: string;
  /** `clientIP` of units whose headers named none. */
  clientIp: string;
  clientID?: string;
  labels?: ReadonlyMap<string, string>;
  /** Forwarder node dialled. */
  node?: string;
  route?: string;
  sid: string;
  /** The connection's lifetime and byte totals on the client side, for `connection` units. */
  start: Timestamp;
  end: Timestamp;
  inputBytes: number;
  outputBytes: number;
  flow?: FlowExtension;
}

/** What the capture knows about a flow when one of its records is built. */
export interface FlowFacts {
  endpoints: ConnectionEndpoints;
  sid: string;
  /** Written as the record's `flow` extension. */
  flow: FlowExtension;
}

/** `ip:port`, IPv6 in brackets (Go's net.JoinHostPort). */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export function buildRecord(service: string, unit: RecordUnit, facts: FlowFacts): GostRecord {
  const ep = facts.endpoints;
  const flow = facts.flow;
  const server = joinHostPort(ep.serverIp, ep.serverPort);
  return assembleRecord(service, unit, {
    network: ep.network,
    remote: joinHostPort(ep.clientIp, ep.clientPort),
    local: server,
    client: '',
    src: '',
    dst: server,
    host: server,
    clientIp: ep.clientIp,
    sid: facts.sid,
    start: flow.firstSeen,
    end: flow.lastSeen,
    inputBytes: flow.clientBytes,
    outputBytes: flow.serverBytes,
    flow,
  });
}

/** The record of `unit`, with the connection's facts around it (GOST's key order is the writer's). */
export function assembleRecord(
  service: string,
  unit: RecordUnit,
  facts: ConnectionFacts,
): GostRecord {
  const whole = unit.scope === 'connection';
  const start = whole ? facts.start : unit.start;
  const end = whole ? facts.end : unit.end;
  const rec: GostRecord = {
    service,
    network: facts.network,
    remote: facts.remote,
    local: facts.local,
    client: facts.client,
    src: facts.src,
    dst: facts.dst,
    host: unit.host !== '' ? unit.host : facts.host,
    clientIP: unit.clientIP !== '' ? unit.clientIP : facts.clientIp,
    inputBytes: whole ? facts.inputBytes : unit.inputBytes,
    outputBytes: whole ? facts.outputBytes : unit.outputBytes,
    sid: facts.sid,
    duration: durationNs(start, end),
    time: start,
  };
  if (facts.node !== undefined && facts.node !== '') rec.node = facts.node;
  if (facts.labels !== undefined && facts.labels.size > 0) rec.labels = new Map(facts.labels);
  if (unit.proto !== '') rec.proto = unit.proto;
  if (facts.clientID !== undefined && facts.clientID !== '') rec.clientID = facts.clientID;
  if (unit.http) rec.http = unit.http;
  if (unit.websocket) rec.websocket = unit.websocket;
  if (unit.tls) rec.tls = unit.tls;
  if (unit.dns) rec.dns = unit.dns;
  if (facts.route !== undefined && facts.route !== '') rec.route = facts.route;
  if (unit.err !== '') rec.err = unit.err;
  if (facts.flow) rec.flow = facts.flow;
  return rec;
}

/**
 * Nanoseconds from `start` to `end` (0 if negative): a number while exact, a bigint past 2^53 ns
 * (about 104 days; a capture with a wild timestamp; found by the fuzzer,
 * test/fuzz/crashes/decode-8e26d87020fe2c70.bin).
 */
function durationNs(start: Timestamp, end: Timestamp): number | bigint {
  const ns = nsBetween(start, end);
  if (ns <= 0) return 0;
  if (Number.isSafeInteger(ns)) return ns;
  return BigInt(end.sec - start.sec) * 1_000_000_000n + BigInt(end.nsec - start.nsec);
}
