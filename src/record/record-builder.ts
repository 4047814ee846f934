/**
 * Turns what a sniffer emitted (a RecordUnit) into a complete GOST record for a passive flow.
 *
 * Passive capture has no accepted connection, so the mapping follows GOST's transparent proxy
 * (`red`/TPROXY) records (gost-compat.md §1.8): `remote` is the client, `local` and `dst` the
 * server, `src` and `client` empty, one `sid` per flow. tapgate's per-flow facts go after `time`
 * in the `flow` extension.
 */
import { nsBetween, type ConnectionEndpoints } from '../sniff/sniffer.ts';
import type { FlowExtension, GostRecord, RecordUnit } from './record-types.ts';

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
  const client = joinHostPort(ep.clientIp, ep.clientPort);
  const server = joinHostPort(ep.serverIp, ep.serverPort);
  const whole = unit.scope === 'connection';
  const start = whole ? flow.firstSeen : unit.start;
  const end = whole ? flow.lastSeen : unit.end;
  const rec: GostRecord = {
    service,
    network: ep.network,
    remote: client,
    local: server,
    client: '',
    src: '',
    dst: server,
    host: unit.host !== '' ? unit.host : server,
    clientIP: unit.clientIP !== '' ? unit.clientIP : ep.clientIp,
    inputBytes: whole ? flow.clientBytes : unit.inputBytes,
    outputBytes: whole ? flow.serverBytes : unit.outputBytes,
    sid: facts.sid,
    duration: Math.max(0, nsBetween(start, end)),
    time: start,
    flow,
  };
  if (unit.proto !== '') rec.proto = unit.proto;
  if (unit.http) rec.http = unit.http;
  if (unit.websocket) rec.websocket = unit.websocket;
  if (unit.tls) rec.tls = unit.tls;
  if (unit.dns) rec.dns = unit.dns;
  if (unit.err !== '') rec.err = unit.err;
  return rec;
}
