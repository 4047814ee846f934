/**
 * Per-host leaf certificates for TLS interception, handed out as `tls.SecureContext`s ready for an
 * SNICallback:
 *
 *   SNICallback(servername, cb)
 *     └─ issue(name) ─ parseLeafName ─┬─ fresh cache entry ──────────────► its promise
 *                                     └─ none / stale ─ signLeafCertificate ─ createSecureContext
 *
 * Invariants:
 * - one cache entry per normalised name; a pending entry is shared by every concurrent caller, so
 *   a name is signed once however many handshakes ask for it at the same moment;
 * - a failed issuance removes its own entry (only its own: a newer one may have replaced it), so
 *   the next call retries instead of replaying the failure;
 * - at most `maxCachedLeaves` entries, least recently used evicted first (Map order is use order:
 *   a hit re-inserts its key); an evicted pending entry still settles for the callers holding it;
 * - an entry is fresh until `renewBeforeMs` (at most half the leaf's remaining lifetime at issue)
 *   before its notAfter, so a cached leaf never reaches a client on the edge of expiry.
 *
 * Validity: notBefore = now − backdateMs (client clock skew) but not before the CA's notBefore;
 * notAfter = now + validityMs but never past the CA's notAfter. Once the CA has expired, issuance
 * fails with TG_ERR_CONFIG.
 *
 * Chain sent: the leaf, then `ca.chainPem`: nothing more under a self-signed root (clients must
 * already trust it; GOST sends the leaf alone too), the intermediates under an intermediate CA.
 *
 * Cost, measured (test/bench/mitm-leaf.bench.ts, 2 vCPUs): a miss takes ~2 ms under an RSA-2048
 * CA, ~1.2 ms under a P-256 CA (signature on the libuv pool, then ~1 ms of SecureContext on the
 * main thread); a cached leaf holds ~30 KiB, mostly native, hence the default bound.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { TapgateError } from '../../errors.ts';
import type { CertificateAuthority } from './ca.ts';
import { signLeafCertificate, type LeafSigningCa } from './leaf-certificate.ts';
import { processLeafKey, type LeafKey, type LeafKeyType } from './leaf-key.ts';
import { parseLeafName, type LeafName } from './leaf-name.ts';

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

export const leafIssuerDefaults = {
  /** RSA-2048 works with every TLS client, including RSA-key-exchange-only TLS 1.2 ones. */
  keyType: 'rsa' as LeafKeyType,
  validityMs: 7 * DAY_MS,
  backdateMs: HOUR_MS,
  renewBeforeMs: DAY_MS,
  /** ~30 MiB of cached leaves; a miss costs ~2 ms. */
  maxCachedLeaves: 1000,
} as const;

export interface LeafIssuerOptions {
  readonly keyType?: LeafKeyType;
  readonly validityMs?: number;
  readonly backdateMs?: number;
  readonly renewBeforeMs?: number;
  readonly maxCachedLeaves?: number;
  /** Clock in epoch milliseconds; tests move it. */
  readonly now?: () => number;
}

export type IssuerCa = LeafSigningCa &
  Pick<CertificateAuthority, 'certFile' | 'notBefore' | 'notAfter' | 'chainPem'>;

export interface IssuedLeaf {
  /** The normalised name: lower-case DNS name or canonical IP text. */
  readonly name: string;
  /** The leaf alone. */
  readonly certPem: string;
  /** The process leaf key (PKCS#8), the same for every leaf. */
  readonly keyPem: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Key + leaf + `ca.chainPem`. */
  readonly secureContext: SecureContext;
}

export interface LeafIssuerStats {
  /** Leaves signed. */
  readonly issued: number;
  /** `issue()` calls answered from the cache, pending entries included. */
  readonly hits: number;
  /** Entries dropped by the size bound. */
  readonly evicted: number;
  readonly cached: number;
}

interface CacheEntry {
  readonly leaf: Promise<IssuedLeaf>;
  /** Infinity while pending. */
  freshUntilMs: number;
}

export class LeafIssuer {
  readonly #ca: IssuerCa;
  readonly #key: LeafKey;
  readonly #validityMs: number;
  readonly #backdateMs: number;
  readonly #renewBeforeMs: number;
  readonly #maxCachedLeaves: number;
  readonly #now: () => number;
  readonly #cache = new Map<string, CacheEntry>();
  #issued = 0;
  #hits = 0;
  #evicted = 0;

  /** Generates (or reuses) the process leaf key first, so the first handshake does not wait. */
  static async create(ca: IssuerCa, options: LeafIssuerOptions = {}): Promise<LeafIssuer> {
    const key = await processLeafKey(options.keyType ?? leafIssuerDefaults.keyType);
    return new LeafIssuer(ca, key, options);
  }

  private constructor(ca: IssuerCa, key: LeafKey, options: LeafIssuerOptions) {
    this.#ca = ca;
    this.#key = key;
    this.#validityMs = options.validityMs ?? leafIssuerDefaults.validityMs;
    this.#backdateMs = options.backdateMs ?? leafIssuerDefaults.backdateMs;
    this.#renewBeforeMs = options.renewBeforeMs ?? leafIssuerDefaults.renewBeforeMs;
    this.#maxCachedLeaves = options.maxCachedLeaves ?? leafIssuerDefaults.maxCachedLeaves;
    this.#now = options.now ?? Date.now;
    if (!(this.#maxCachedLeaves >= 1) || !(this.#validityMs > 0)) {
      throw new TapgateError(
        'TG_ERR_CONFIG',
        'mitm: maxCachedLeaves must be ≥ 1 and validityMs > 0',
      );
    }
  }

  get stats(): LeafIssuerStats {
    return {
      issued: this.#issued,
      hits: this.#hits,
      evicted: this.#evicted,
      cached: this.#cache.size,
    };
  }

  /**
   * The leaf for `name` (SNI, host, `host:port`, IP literal). Rejects with TG_ERR_USAGE for a name
   * that is not a host name or IP address, TG_ERR_CONFIG once the CA has expired.
   */
  async issue(name: string): Promise<IssuedLeaf> {
    const leafName = parseLeafName(name);
    const cached = this.#cache.get(leafName.name);
    if (cached !== undefined) {
      this.#cache.delete(leafName.name);
      if (this.#now() < cached.freshUntilMs) {
        this.#cache.set(leafName.name, cached);
        this.#hits++;
        return cached.leaf;
      }
    }
    const entry: CacheEntry = { leaf: this.#sign(leafName), freshUntilMs: Infinity };
    this.#cache.set(leafName.name, entry);
    this.#evictOverflow();
    try {
      const leaf = await entry.leaf;
      const issuedAtMs = this.#now();
      const notAfterMs = leaf.notAfter.getTime();
      entry.freshUntilMs =
        notAfterMs - Math.min(this.#renewBeforeMs, (notAfterMs - issuedAtMs) / 2);
      return leaf;
    } catch (e) {
      if (this.#cache.get(leafName.name) === entry) this.#cache.delete(leafName.name);
      throw e;
    }
  }

  async #sign(name: LeafName): Promise<IssuedLeaf> {
    const ca = this.#ca;
    const nowMs = this.#now();
    if (nowMs >= ca.notAfter.getTime()) {
      throw new TapgateError(
        'TG_ERR_CONFIG',
        `mitm: ${ca.certFile}: the CA certificate expired on ${ca.notAfter.toISOString()}`,
      );
    }
    const notBefore = wholeSeconds(Math.max(nowMs - this.#backdateMs, ca.notBefore.getTime()));
    const notAfter = wholeSeconds(Math.min(nowMs + this.#validityMs, ca.notAfter.getTime()));
    const der = await signLeafCertificate(ca, this.#key, { name, notBefore, notAfter });
    this.#issued++;
    const certPem = toPem(der);
    return {
      name: name.name,
      certPem,
      keyPem: this.#key.keyPem,
      notBefore,
      notAfter,
      secureContext: createSecureContext({ key: this.#key.keyPem, cert: certPem + ca.chainPem }),
    };
  }

  #evictOverflow(): void {
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#maxCachedLeaves) return;
      this.#cache.delete(oldest);
      this.#evicted++;
    }
  }
}

/** Rounded down: certificate times have no fractions, and notAfter must not pass the CA's. */
function wholeSeconds(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
