/** Every fuzz target, by name. */
import type { Target } from '../target.ts';
import { decodeTarget } from './decode.ts';
import { dns } from './dns.ts';
import { http1 } from './http1.ts';
import { http2 } from './http2.ts';
import { pcap } from './pcap.ts';
import { quic } from './quic.ts';
import { reassembly } from './reassembly.ts';
import { tls } from './tls.ts';
import { websocket } from './websocket.ts';
import { yaml } from './yaml.ts';

export const targets: readonly Target[] = [
  pcap,
  decodeTarget,
  reassembly,
  http1,
  http2,
  tls,
  websocket,
  dns,
  quic,
  yaml,
];

export function targetByName(name: string): Target | undefined {
  return targets.find((t) => t.name === name);
}
