/**
 * The parts of the CA certificate (RFC 5280 §4.1) that issuing needs and that node's
 * X509Certificate does not expose: the subject Name as DER (copied verbatim into every leaf's
 * issuer, so name chaining never depends on re-encoding), the validity as Dates, and the
 * basicConstraints, keyUsage and subjectKeyIdentifier extensions.
 */
import type { Asn1 } from './der.ts';
import {
  childrenOf,
  contentOf,
  fromDer,
  isBoolean,
  isContextTag,
  oidOf,
  timeToDate,
  toDer,
} from './der.ts';
import { Oid } from './oids.ts';

export interface CaCertificateFields {
  readonly subjectDer: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints cA; undefined when the extension is absent. */
  readonly basicConstraintsCa: boolean | undefined;
  /** keyUsage keyCertSign; undefined when the extension is absent. */
  readonly keyCertSign: boolean | undefined;
  /** subjectKeyIdentifier; undefined when the extension is absent. */
  readonly keyIdentifier: Buffer | undefined;
}

/** Reads the fields from a certificate's DER; throws TypeError on a structure it cannot follow. */
export function readCaCertificateFields(certDer: Buffer): CaCertificateFields {
  const [tbs] = childrenOf(fromDer(certDer), 'Certificate');
  const fields = childrenOf(tbs, 'TBSCertificate');
  // version [0] is absent in v1 certificates; everything after it has a fixed position.
  const base = isContextTag(fields[0], 0) ? 1 : 0;
  const validity = childrenOf(fields[base + 3], 'validity');
  const subject = fields[base + 4];
  if (subject === undefined) throw new TypeError('TBSCertificate: no subject');
  const extensions = extensionValues(fields.slice(base + 6).find((f) => isContextTag(f, 3)));

  const bc = extensions.get(Oid.basicConstraints);
  const ku = extensions.get(Oid.keyUsage);
  const ski = extensions.get(Oid.subjectKeyIdentifier);
  return {
    subjectDer: toDer(subject),
    notBefore: timeToDate(validity[0], 'notBefore'),
    notAfter: timeToDate(validity[1], 'notAfter'),
    // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
    basicConstraintsCa:
      bc === undefined ? undefined : readBoolean(childrenOf(fromDer(bc), 'basicConstraints')[0]),
    // KeyUsage BIT STRING: content byte 0 counts unused bits; keyCertSign is bit 5 (0x04).
    keyCertSign:
      ku === undefined ? undefined : ((contentOf(fromDer(ku), 'keyUsage')[1] ?? 0) & 0x04) !== 0,
    keyIdentifier: ski === undefined ? undefined : contentOf(fromDer(ski), 'subjectKeyIdentifier'),
  };
}

/** extnID → extnValue (the DER inside the OCTET STRING) of `[3] EXPLICIT Extensions`. */
function extensionValues(tagged: Asn1 | undefined): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  if (tagged === undefined) return out;
  for (const ext of childrenOf(childrenOf(tagged, 'extensions')[0], 'Extensions')) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const parts = childrenOf(ext, 'Extension');
    const value = isBoolean(parts[1]) ? parts[2] : parts[1];
    out.set(oidOf(parts[0], 'extnID'), contentOf(value, 'extnValue'));
  }
  return out;
}

function readBoolean(node: Asn1 | undefined): boolean {
  return isBoolean(node) && contentOf(node, 'BOOLEAN')[0] !== 0;
}
