/**
 * Live-capture test hosts: a veth pair whose inside end lives in a network namespace made for the
 * test. Traffic is replayed into the inside end (inside the namespace) and arrives on the outside
 * end in our own namespace, where tapgate captures it. Names are unique per process and call;
 * `destroy()` removes both the link and the namespace.
 *
 *   [netns tgN] inside ──veth──► outside [this namespace] ◄── tapgate capture -i outside
 *
 * IPv6 is disabled on both ends before they come up and no addresses are set, so the kernel sends
 * nothing of its own (no router solicitations, no ARP): the only frames on the wire are the test's.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

let counter = 0;

export interface VethPair {
  /** Namespace holding the inside end. */
  ns: string;
  /** End in this process's namespace: capture here. */
  outside: string;
  /** End inside `ns`: send here (`replay`, `sendInside`). */
  inside: string;
  destroy(): Promise<void>;
}

/** True when this process may create namespaces and links (root or CAP_NET_ADMIN). */
export const canUseNetns: boolean = process.getuid?.() === 0;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

async function disableIpv6(iface: string, ns?: string): Promise<void> {
  const sysctl = ['sysctl', '-q', '-w', `net.ipv6.conf.${iface}.disable_ipv6=1`];
  await (ns ? run('ip', ['netns', 'exec', ns, ...sysctl]) : run(sysctl[0]!, sysctl.slice(1)));
}

export async function createVethPair(opts: { mtu?: number } = {}): Promise<VethPair> {
  const id = `${String(process.pid % 100000)}x${String(counter++)}`;
  const ns = `tapgate-test-${id}`;
  const outside = `tgo${id}`;
  const inside = `tgi${id}`;
  await ip('netns', 'add', ns);
  const destroy = async (): Promise<void> => {
    await ip('link', 'del', outside).catch(() => undefined);
    await ip('netns', 'del', ns).catch(() => undefined);
  };
  try {
    await ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside, 'netns', ns);
    await disableIpv6(outside);
    await disableIpv6(inside, ns);
    const mtu = String(opts.mtu ?? 9000);
    await ip('link', 'set', outside, 'mtu', mtu, 'up');
    await ip('-n', ns, 'link', 'set', inside, 'mtu', mtu, 'up');
  } catch (e) {
    await destroy();
    throw e;
  }
  return { ns, outside, inside, destroy };
}

/** Replays a pcap into the inside end (so it arrives on `outside`); resolves when all were sent. */
export async function replay(
  pair: VethPair,
  pcapPath: string,
  opts: { topspeed?: boolean; pps?: number; loop?: number } = {},
): Promise<{ sent: number; stdout: string }> {
  const args = ['netns', 'exec', pair.ns, 'tcpreplay', '-i', pair.inside];
  if (opts.topspeed) args.push('--topspeed');
  else if (opts.pps) args.push(`--pps=${String(opts.pps)}`);
  else args.push('--topspeed');
  if (opts.loop) args.push(`--loop=${String(opts.loop)}`);
  args.push(pcapPath);
  const { stdout } = await run('ip', args, { maxBuffer: 1 << 20 });
  const m = /Actual: (\d+) packets/.exec(stdout);
  if (!m) throw new Error(`tcpreplay: no packet count in output:\n${stdout}`);
  const failed = /Failed packets:\s+(\d+)/.exec(stdout);
  if (failed && failed[1] !== '0') throw new Error(`tcpreplay: failed packets:\n${stdout}`);
  return { sent: Number(m[1]), stdout };
}

/** Reads `/sys/class/net/IF/promiscuity`-like facts through `ip -d link show`. */
export async function promiscuity(iface: string): Promise<number> {
  const { stdout } = await run('ip', ['-d', 'link', 'show', iface]);
  const m = /promiscuity (\d+)/.exec(stdout);
  return m ? Number(m[1]) : -1;
}
