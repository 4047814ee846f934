import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkFanoutSymmetry } from '../../src/capture/fanout-check.ts';
import { canUseNetns } from '../helpers/netns.ts';

test(
  "the kernel's fanout hash keeps both directions of a flow on one member",
  { skip: !canUseNetns && 'needs root for packet sockets' },
  async () => {
    for (const members of [2, 3]) {
      const r = await checkFanoutSymmetry(members);
      // Each flow is one datagram each way on loopback; nearly all must be seen.
      assert.ok(r.flows >= 60, `only ${r.flows} of 64 flows seen with ${members} members`);
      assert.equal(r.split, 0);
    }
  },
);
