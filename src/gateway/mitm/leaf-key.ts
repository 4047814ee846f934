/**
 * The leaves' key pair: one per process and key type, generated on first use (RSA-2048 takes
 * ~0.2 s, so never per host) and never the CA's key (GOST reuses the CA key pair in every leaf).
 * It lives only in memory; a restart brings a new one.
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';

export type LeafKeyType = 'rsa' | 'ec';

export interface LeafKey {
  readonly type: LeafKeyType;
  /** PKCS#8 PEM, for `tls.createSecureContext`. */
  readonly keyPem: string;
  /** SubjectPublicKeyInfo DER, copied into every leaf. */
  readonly spkiDer: Buffer;
}

const keys = new Map<LeafKeyType, Promise<LeafKey>>();

/** The process's leaf key of `type`; concurrent first calls share one generation. */
export function processLeafKey(type: LeafKeyType): Promise<LeafKey> {
  let key = keys.get(type);
  if (key === undefined) {
    key = generate(type);
    keys.set(type, key);
  }
  return key;
}

function generate(type: LeafKeyType): Promise<LeafKey> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (err !== null) {
        reject(err);
        return;
      }
      resolve({
        type,
        keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
        spkiDer: publicKey.export({ type: 'spki', format: 'der' }),
      });
    };
    if (type === 'rsa') generateKeyPair('rsa', { modulusLength: 2048 }, done);
    else generateKeyPair('ec', { namedCurve: 'prime256v1' }, done);
  });
}
