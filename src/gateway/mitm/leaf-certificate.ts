/**
 * Builds one leaf certificate (RFC 5280 §4.1) and signs it with the CA key through node:crypto.
 *
 * The TBSCertificate is assembled node by node with node-forge's ASN.1 codec rather than forge's
 * certificate builder, which encodes SubjectPublicKeyInfo only from an RSA key, writes NULL
 * parameters for every signature algorithm (RFC 5758 §3.2 wants them absent for ECDSA) and
 * re-encodes the issuer name. Signing is node:crypto (~1.9 ms against ~38 ms for forge's RSA, and
 * forge cannot use EC keys at all), on the libuv pool so handshakes are not blocked.
 *
 *   version v3, serial 16 random bytes, signature sha256WithRSAEncryption | ecdsa-with-SHA256,
 *   issuer = CA subject (verbatim DER), validity as given, subject O=tapgate [+ CN=<dns name>],
 *   SPKI = the process leaf key,
 *   extensions: basicConstraints cA=false (critical), keyUsage (critical) digitalSignature
 *   [+ keyEncipherment for an RSA leaf; RFC 5480 §3 forbids it for EC keys], extKeyUsage
 *   serverAuth, subjectAltName dNSName | iPAddress, authorityKeyIdentifier when the CA has a
 *   subjectKeyIdentifier.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import type { CertificateAuthority } from './ca.ts';
import {
  bitString,
  boolean,
  contextExplicit,
  contextPrimitive,
  fromDer,
  integer,
  nullValue,
  octetString,
  oid,
  sequence,
  set,
  time,
  toDer,
  utf8String,
  type Asn1,
} from './der.ts';
import type { LeafKey } from './leaf-key.ts';
import type { LeafName } from './leaf-name.ts';
import { Oid } from './oids.ts';

export interface LeafCertificateSpec {
  readonly name: LeafName;
  /** Whole seconds: certificate times carry no fractions. */
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export type LeafSigningCa = Pick<
  CertificateAuthority,
  'key' | 'algorithm' | 'subjectDer' | 'keyIdentifier'
>;

const SERIAL_BYTES = 16;
/** X.520 ub-common-name: a longer DNS name goes only into the subjectAltName. */
const MAX_COMMON_NAME = 64;
const SUBJECT_ORGANIZATION = 'tapgate';

/** DER of the signed leaf certificate. */
export async function signLeafCertificate(
  ca: LeafSigningCa,
  leafKey: LeafKey,
  spec: LeafCertificateSpec,
): Promise<Buffer> {
  const signatureAlgorithm = algorithmIdentifier(ca.algorithm);
  const tbs = sequence([
    contextExplicit(0, integer(Buffer.of(2))), // v3
    integer(randomSerial()),
    signatureAlgorithm,
    fromDer(ca.subjectDer),
    sequence([time(spec.notBefore), time(spec.notAfter)]),
    subjectName(spec.name),
    fromDer(leafKey.spkiDer),
    contextExplicit(3, sequence(extensions(ca, leafKey, spec.name))),
  ]);
  const signature = await signSha256(toDer(tbs), ca.key);
  return toDer(sequence([tbs, signatureAlgorithm, bitString(0, signature)]));
}

/**
 * 16 random bytes as a positive, minimally encoded INTEGER: the top bit cleared (else negative)
 * and bit 6 set (so the first byte is never 0x00, which DER would have to strip). 126 random bits,
 * above the 64 the CA/Browser Forum requires.
 */
function randomSerial(): Buffer {
  const serial = randomBytes(SERIAL_BYTES);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  return serial;
}

/** RFC 4055 §5: RSA with NULL parameters; RFC 5758 §3.2: ECDSA with parameters absent. */
function algorithmIdentifier(algorithm: LeafSigningCa['algorithm']): Asn1 {
  return algorithm === 'rsa'
    ? sequence([oid(Oid.sha256WithRSAEncryption), nullValue()])
    : sequence([oid(Oid.ecdsaWithSHA256)]);
}

function subjectName(name: LeafName): Asn1 {
  const rdns = [rdn(Oid.organizationName, SUBJECT_ORGANIZATION)];
  // An IP leaf has no CN: clients match IPs against iPAddress SANs only.
  if (name.kind === 'dns' && name.name.length <= MAX_COMMON_NAME) {
    rdns.push(rdn(Oid.commonName, name.name));
  }
  return sequence(rdns);
}

function rdn(type: string, value: string): Asn1 {
  return set([sequence([oid(type), utf8String(value)])]);
}

function extensions(ca: LeafSigningCa, leafKey: LeafKey, name: LeafName): Asn1[] {
  // KeyUsage named bits: digitalSignature (0) = 0x80, keyEncipherment (2) = 0x20; DER drops
  // trailing zero bits, so the first content byte counts the unused ones.
  const keyUsage =
    leafKey.type === 'rsa' ? bitString(5, Buffer.of(0xa0)) : bitString(7, Buffer.of(0x80));
  const generalName =
    name.kind === 'dns'
      ? contextPrimitive(2, Buffer.from(name.name, 'ascii'))
      : contextPrimitive(7, Buffer.from(name.bytes));
  const out = [
    extension(Oid.basicConstraints, true, sequence([])),
    extension(Oid.keyUsage, true, keyUsage),
    extension(Oid.extKeyUsage, false, sequence([oid(Oid.serverAuth)])),
    extension(Oid.subjectAltName, false, sequence([generalName])),
  ];
  if (ca.keyIdentifier !== undefined) {
    const keyIdentifier = contextPrimitive(0, ca.keyIdentifier);
    out.push(extension(Oid.authorityKeyIdentifier, false, sequence([keyIdentifier])));
  }
  return out;
}

function extension(id: string, critical: boolean, value: Asn1): Asn1 {
  const parts = [oid(id)];
  if (critical) parts.push(boolean(true)); // DEFAULT FALSE is omitted in DER
  parts.push(octetString(toDer(value)));
  return sequence(parts);
}

function signSha256(data: Buffer, key: KeyObject): Promise<Buffer> {
  // RSA: PKCS#1 v1.5 (the key's default padding); EC: DER-encoded ECDSA-Sig-Value, as X.509 wants.
  return new Promise((resolve, reject) => {
    sign('sha256', data, key, (err, signature) => {
      if (err === null) resolve(signature);
      else reject(err);
    });
  });
}
