/**
 * MITM leaf issuance benchmark (issue 6, not a test): leaves per second for an RSA-2048 and an EC
 * P-256 CA (openssl-made), each with RSA and EC leaf keys, every issue a cache miss (distinct
 * names), sequential and 16 at a time (signing runs on the libuv pool); and the native memory a
 * cached SecureContext holds.
 *
 *   node --import tsx test/bench/mitm-leaf.bench.ts
 *   BENCH_LEAVES=2000 node --expose-gc --import tsx test/bench/mitm-leaf.bench.ts
 */
import { chmodSync } from 'node:fs';
import { loadCertificateAuthority } from '../../src/gateway/mitm/ca.ts';
import { LeafIssuer } from '../../src/gateway/mitm/leaf-issuer.ts';
import type { LeafKeyType } from '../../src/gateway/mitm/leaf-key.ts';
import { opensslRootCa, tempDir } from '../helpers/openssl-ca.ts';

const LEAVES = Number(process.env.BENCH_LEAVES ?? '500');
const PARALLEL = 16;

const tmp = tempDir('tapgate-mitm-bench-');
try {
  // First, in a fresh heap: native memory of cached SecureContexts, as RSS growth over LEAVES
  // fresh cache entries.
  const files = opensslRootCa(tmp.dir, 'bench-memory', 'ec-pkcs8');
  chmodSync(files.keyFile, 0o600);
  const issuer = await LeafIssuer.create(
    await loadCertificateAuthority(files.certFile, files.keyFile),
    { maxCachedLeaves: LEAVES },
  );
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rss0 = process.memoryUsage().rss;
  for (let i = 0; i < LEAVES; i++) await issuer.issue(`mem-${i}.bench.test`);
  gc?.();
  const perEntry = (process.memoryUsage().rss - rss0) / LEAVES / 1024;
  console.log(
    `~${perEntry.toFixed(1)} KiB RSS per cached leaf (${LEAVES} entries${gc ? '' : ', run with --expose-gc for a steadier figure'})`,
  );

  for (const format of ['rsa-pkcs8', 'ec-pkcs8'] as const) {
    const files = opensslRootCa(tmp.dir, `bench-${format}`, format);
    chmodSync(files.keyFile, 0o600);
    const ca = await loadCertificateAuthority(files.certFile, files.keyFile);
    for (const keyType of ['rsa', 'ec'] as LeafKeyType[]) {
      const issuer = await LeafIssuer.create(ca, { keyType, maxCachedLeaves: LEAVES * 2 });
      let next = 0;
      const t0 = performance.now();
      for (let i = 0; i < LEAVES; i++) await issuer.issue(`seq-${next++}.bench.test`);
      const t1 = performance.now();
      for (let i = 0; i < LEAVES; i += PARALLEL) {
        const batch = Array.from({ length: PARALLEL }, () =>
          issuer.issue(`par-${next++}.bench.test`),
        );
        await Promise.all(batch);
      }
      const t2 = performance.now();
      const perSecond = (ms: number): string => ((LEAVES / ms) * 1000).toFixed(0);
      console.log(
        `${ca.algorithm} CA, ${keyType} leaf: ${perSecond(t1 - t0)} leaves/s sequential ` +
          `(${((t1 - t0) / LEAVES).toFixed(2)} ms each), ${perSecond(t2 - t1)} leaves/s ${PARALLEL} at a time`,
      );
    }
  }
} finally {
  tmp.remove();
}
