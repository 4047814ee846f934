/**
 * Typed helpers around the native addon's AF_PACKET exports, for the thread that sets a live
 * capture up: compile the filter, open the socket (filter attached before any packet arrives),
 * read its kernel counters, close it, and read the interface's own counters from sysfs.
 *
 * Addon errors carry the errno name in `code`; here they become TapgateErrors with stable codes
 * (permission, interface, filter, engine). Bad option values stay TypeErrors: they are bugs or
 * unchecked configuration, not conditions of the host.
 *
 *   main thread                                    capture worker (af-packet-ring.ts)
 *   linkType = interfaceLinkType(iface)
 *   filter = compileCaptureFilter(expr, linkType, snapLen, iface)
 *   sock = openAfPacketSocket({ …, filter })  ──fd──►  new AfPacketRing({ fd, … })
 *   readPacketSocketStats(sock.fd) (accumulate)
 *   closePacketSocket(sock.fd)     after the worker closed its ring
 */
import { readFileSync } from 'node:fs';

import { TapgateError } from '../errors.ts';
import {
  nativeAddon,
  nativeAddonError,
  type NativeAddon,
  type PacketSocketCounters,
  type PacketSocketOptions,
} from './native-addon.ts';

export const LINKTYPE_ETHERNET = 1;
/** Raw IPv4/IPv6, no link-layer header. */
export const LINKTYPE_RAW = 101;

// ARPHRD_* from <linux/if_arp.h>.
const ARPHRD_ETHER = 1;
const ARPHRD_RAWIP = 519;
const ARPHRD_LOOPBACK = 772;
const ARPHRD_NONE = 0xfffe;

/** The addon with its AF_PACKET exports, or a TG_ERR_CAPTURE_ENGINE error saying what to do. */
export function afPacketAddon(): NativeAddon {
  const addon = nativeAddon();
  if (addon === null) {
    throw new TapgateError(
      'TG_ERR_CAPTURE_ENGINE',
      `the AF_PACKET engine needs tapgate's native addon, which did not load ` +
        `(${nativeAddonError ?? 'unknown error'}); build it with \`npm run build:native\` ` +
        '(needs g++, make, python3, libpcap-dev), or capture with --engine pcap',
    );
  }
  if (typeof addon.openPacketSocket !== 'function') {
    throw new TapgateError(
      'TG_ERR_CAPTURE_ENGINE',
      'the native addon predates the AF_PACKET engine: rebuild it with `npm run build:native`, ' +
        'or capture with --engine pcap',
    );
  }
  return addon;
}

/**
 * LINKTYPE of what an AF_PACKET SOCK_RAW socket delivers on an interface of type `arphrd`.
 * Ethernet and loopback frames start with an Ethernet header; on devices without a link layer
 * (tun, WireGuard: ARPHRD_NONE; ARPHRD_RAWIP) the IP packet starts at tp_mac.
 */
export function linkTypeForArphrd(arphrd: number, iface: string): number {
  switch (arphrd) {
    case ARPHRD_ETHER:
    case ARPHRD_LOOPBACK:
      return LINKTYPE_ETHERNET;
    case ARPHRD_NONE:
    case ARPHRD_RAWIP:
      return LINKTYPE_RAW;
    default:
      throw new TapgateError(
        'TG_ERR_INTERFACE',
        `interface ${iface} has link type ARPHRD ${arphrd}, which the AF_PACKET engine does not ` +
          'support; capture it with --engine pcap',
      );
  }
}

/** The LINKTYPE a capture on `iface` produces, from /sys/class/net/IF/type. */
export function interfaceLinkType(iface: string): number {
  return linkTypeForArphrd(Number(readSysfs(iface, 'type')), iface);
}

/**
 * True for a loopback device, where a packet socket sees every packet twice (sent and received):
 * capture skips the sent copy there, as libpcap does.
 */
export function isLoopbackInterface(iface: string): boolean {
  return Number(readSysfs(iface, 'type')) === ARPHRD_LOOPBACK;
}

/**
 * Compiles a tcpdump filter for a live socket on `iface` (pass null to compile for capture-file
 * bytes). A blank expression means "everything": null, no filter to attach.
 */
export function compileCaptureFilter(
  expr: string,
  linkType: number,
  snapLen: number,
  iface: string | null,
): Buffer | null {
  if (expr.trim() === '') return null;
  const addon = afPacketAddon();
  try {
    return addon.compileFilter(expr, linkType, snapLen, iface);
  } catch (e) {
    if (errnoCode(e) === 'EFILTER') {
      throw new TapgateError('TG_ERR_FILTER', `capture filter "${expr}": ${errorMessage(e)}`, {
        cause: e,
      });
    }
    throw e;
  }
}

/** The addon's socket options; `ignoreOutgoing` defaults to false. */
export type AfPacketOpenOptions = Omit<PacketSocketOptions, 'ignoreOutgoing'> & {
  ignoreOutgoing?: boolean;
};

export interface AfPacketSocket {
  fd: number;
  ifindex: number;
  /** LINKTYPE of the frames in the ring (see `linkTypeForArphrd`). */
  linkType: number;
}

/**
 * Compiles a tcpdump filter for live sockets on `iface` (its link type, live VLAN handling); the
 * one program serves every socket of the interface. '' means everything: null.
 */
export function compileInterfaceFilter(
  expr: string,
  iface: string,
  snapLen: number,
): Buffer | null {
  return compileCaptureFilter(expr, interfaceLinkType(iface), snapLen, iface);
}

/** Opens one capture socket with its ring; map the ring with AfPacketRing (in any thread). */
export function openAfPacketSocket(opts: AfPacketOpenOptions): AfPacketSocket {
  const addon = afPacketAddon();
  let info;
  try {
    info = addon.openPacketSocket({ ...opts, ignoreOutgoing: opts.ignoreOutgoing ?? false });
  } catch (e) {
    throw captureError(e, opts.iface);
  }
  try {
    const linkType = linkTypeForArphrd(info.arphrd, opts.iface);
    return { fd: info.fd, ifindex: info.ifindex, linkType };
  } catch (e) {
    addon.closeFd(info.fd);
    throw e;
  }
}

/**
 * The socket's PACKET_STATISTICS since the previous call: the kernel resets them on every read,
 * so the caller adds them up. `packets` includes `drops`.
 */
export function readPacketSocketStats(fd: number): PacketSocketCounters {
  return afPacketAddon().packetSocketStats(fd);
}

/** Closes a socket from `openAfPacketSocket` (after its ring was closed, in whichever thread). */
export function closePacketSocket(fd: number): void {
  afPacketAddon().closeFd(fd);
}

export interface InterfaceCounters {
  rxPackets: number;
  /** Dropped by the kernel's stack after the driver had them. */
  rxDropped: number;
  /** Lost by the NIC itself (its FIFO overran): traffic no capture on this host saw. */
  rxMissedErrors: number;
}

/** The interface's receive counters from /sys/class/net/IF/statistics (cumulative since boot). */
export function readInterfaceCounters(iface: string): InterfaceCounters {
  return {
    rxPackets: Number(readSysfs(iface, 'statistics/rx_packets')),
    rxDropped: Number(readSysfs(iface, 'statistics/rx_dropped')),
    rxMissedErrors: Number(readSysfs(iface, 'statistics/rx_missed_errors')),
  };
}

function readSysfs(iface: string, file: string): string {
  if (!/^[^/\s]{1,15}$/.test(iface) || iface === '.' || iface === '..') {
    throw new TapgateError('TG_ERR_INTERFACE', `no such interface: ${iface}`);
  }
  try {
    return readFileSync(`/sys/class/net/${iface}/${file}`, 'utf8').trim();
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') {
      throw new TapgateError('TG_ERR_INTERFACE', `no such interface: ${iface}`, { cause: e });
    }
    throw e;
  }
}

function captureError(e: unknown, iface: string): unknown {
  switch (errnoCode(e)) {
    case undefined:
      return e; // TypeError for bad options, or not an addon error at all
    case 'EPERM':
    case 'EACCES':
      return new TapgateError(
        'TG_ERR_CAPTURE_PERMISSION',
        `live capture on ${iface} needs root or CAP_NET_RAW + CAP_NET_ADMIN`,
        { cause: e },
      );
    case 'ENODEV':
    case 'ENXIO':
      return new TapgateError('TG_ERR_INTERFACE', `no such interface: ${iface}`, { cause: e });
    case 'ENETDOWN':
      return new TapgateError('TG_ERR_INTERFACE', `interface ${iface} is down`, { cause: e });
    default:
      return new TapgateError(
        'TG_ERR_CAPTURE_ENGINE',
        `AF_PACKET capture on ${iface}: ${errorMessage(e)}`,
        { cause: e },
      );
  }
}

function errnoCode(e: unknown): string | undefined {
  if (!(e instanceof Error) || !('code' in e)) return undefined;
  return typeof e.code === 'string' ? e.code : undefined;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
