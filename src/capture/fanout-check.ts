/**
 * Start-up check of the promise the worker pool stands on: PACKET_FANOUT_HASH sends both
 * directions of a flow to the same group member. The hash is symmetric on current kernels, but
 * some kernels shipped a fanout hash that was not, and a split flow silently halves every stream
 * the sniffers see. So before capturing we measure it on this kernel, on loopback:
 *
 *   N sockets on lo in a private fanout group (hash + defrag, outgoing copies ignored)
 *   FLOWS UDP request/response pairs 127.0.0.1:client_i ⇄ 127.0.0.1:server
 *   → every datagram lands on one member; a flow whose request and response landed on
 *     different members is split.
 *
 * The traffic stays on loopback and the filter keeps the rings to the check's own datagrams. The
 * same kernel function hashes for every device, so loopback's answer holds for the capture
 * interfaces. At runtime, FlowAffinityCheck keeps counting violations on the real traffic.
 */
import { createSocket, type Socket } from 'node:dgram';
import { AfPacketRing } from './af-packet-ring.ts';
import {
  closePacketSocket,
  compileInterfaceFilter,
  openAfPacketSocket,
  type AfPacketSocket,
} from './af-packet-socket.ts';
import type { FrameView } from './frame.ts';

export interface FanoutCheckResult {
  /** Flows whose request and response both reached a member. */
  flows: number;
  /** Flows whose two directions reached different members (must be 0). */
  split: number;
}

const FLOWS = 64;
const BLOCK_SIZE = 1 << 16;
const BLOCKS = 16;
const WAIT_MS = 2000;

/**
 * Runs the check with `members` sockets (≥ 2). Throws what opening a socket throws (permissions,
 * no `lo`); the caller decides whether that is fatal.
 */
export async function checkFanoutSymmetry(members: number): Promise<FanoutCheckResult> {
  const server = await boundUdpSocket();
  const serverPort = server.address().port;
  const sockets: AfPacketSocket[] = [];
  const rings: AfPacketRing[] = [];
  const clients: Socket[] = [];
  try {
    const group = (process.pid * 8 + 7) & 0xffff; // not one of the capture's groups
    const filter = compileInterfaceFilter(`udp and port ${String(serverPort)}`, 'lo', 128);
    for (let m = 0; m < members; m++) {
      const s = openAfPacketSocket({
        iface: 'lo',
        blockSize: BLOCK_SIZE,
        blockCount: BLOCKS,
        blockTimeoutMs: 1,
        promisc: false,
        fanoutGroup: group,
        filter,
        ignoreOutgoing: true,
      });
      sockets.push(s);
      rings.push(
        new AfPacketRing({
          fd: s.fd,
          blockSize: BLOCK_SIZE,
          blockCount: BLOCKS,
          snapLen: 128,
          iface: { id: 0, linkType: s.linkType, snapLen: 128, tsPrecision: 'ns', name: 'lo' },
          skipOutgoing: true,
        }),
      );
    }

    // member of each direction, by client port: request = client → server.
    const requestOn = new Map<number, number>();
    const responseOn = new Map<number, number>();
    const consumers = rings.map((_, member) => ({
      onFrame: (f: FrameView): void => {
        const ports = udpPorts(f);
        if (!ports) return;
        if (ports.dst === serverPort) requestOn.set(ports.src, member);
        else if (ports.src === serverPort) responseOn.set(ports.dst, member);
      },
    }));
    // Blocks reach user space when full or retired by their timeout; the rings are small, so
    // they are read all along, not only at the end.
    const drain = (): void => {
      rings.forEach((ring, member) => {
        while (ring.pollBlock(0, consumers[member]!) >= 0);
      });
    };
    const reader = setInterval(drain, 2);
    try {
      // Echo every request; wait until every client has its answer.
      server.on('message', (msg, from) => {
        server.send(msg, from.port, from.address);
      });
      const answered = Promise.all(
        Array.from({ length: FLOWS }, async () => {
          const c = await boundUdpSocket();
          clients.push(c);
          const reply = new Promise<void>((resolve) => {
            c.once('message', () => {
              resolve();
            });
          });
          c.send(Buffer.from('tapgate fanout check'), serverPort, '127.0.0.1');
          await reply;
        }),
      );
      await Promise.race([answered, sleep(WAIT_MS)]);
      const deadline = Date.now() + WAIT_MS;
      while (
        (requestOn.size < clients.length || responseOn.size < clients.length) &&
        Date.now() < deadline
      ) {
        await sleep(2);
        drain();
      }
    } finally {
      clearInterval(reader);
    }
    let flows = 0;
    let split = 0;
    for (const [port, member] of requestOn) {
      const other = responseOn.get(port);
      if (other === undefined) continue;
      flows++;
      if (other !== member) split++;
    }
    return { flows, split };
  } finally {
    for (const r of rings) r.close();
    for (const s of sockets) closePacketSocket(s.fd);
    for (const c of clients) c.close();
    server.close();
  }
}

/** UDP ports of an Ethernet + IPv4 frame (loopback frames have a zeroed Ethernet header). */
function udpPorts(f: FrameView): { src: number; dst: number } | null {
  const d = f.data;
  const o = f.offset;
  if (f.capLen < 14 + 20 + 4 || d.readUInt16BE(o + 12) !== 0x0800) return null;
  const ihl = (d[o + 14]! & 0x0f) * 4;
  if (d[o + 14 + 9] !== 17 || f.capLen < 14 + ihl + 4) return null;
  return { src: d.readUInt16BE(o + 14 + ihl), dst: d.readUInt16BE(o + 14 + ihl + 2) };
}

function boundUdpSocket(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve(s);
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
