/**
 * The few DER shapes the MITM CA reads and writes, on top of node-forge's ASN.1 codec. forge works
 * on "binary" strings (one char per byte); these helpers keep Buffers at the module boundary.
 */
import forge from 'node-forge';

const { asn1 } = forge;

export type Asn1 = forge.asn1.Asn1;

export function fromDer(der: Buffer): Asn1 {
  return asn1.fromDer(der.toString('binary'));
}

export function toDer(node: Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

/** The child nodes of a constructed value; `what` names it in the error. */
export function childrenOf(node: Asn1 | undefined, what: string): Asn1[] {
  if (node === undefined || !Array.isArray(node.value)) {
    throw new TypeError(`${what}: not constructed`);
  }
  return node.value;
}

/** The content bytes of a primitive value; `what` names it in the error. */
export function contentOf(node: Asn1 | undefined, what: string): Buffer {
  if (node === undefined || typeof node.value !== 'string') {
    throw new TypeError(`${what}: not primitive`);
  }
  return Buffer.from(node.value, 'binary');
}

/**
 * The context-specific tags X.509 uses here, as forge's API wants them: in its `type` field, typed
 * as the UNIVERSAL type of the same number.
 */
const contextTags = {
  0: asn1.Type.NONE, // TBSCertificate version, AuthorityKeyIdentifier keyIdentifier
  2: asn1.Type.INTEGER, // GeneralName dNSName
  3: asn1.Type.BITSTRING, // TBSCertificate extensions
  7: asn1.Type.ODESC, // GeneralName iPAddress
} as const;
export type ContextTag = keyof typeof contextTags;

export function isContextTag(node: Asn1 | undefined, tag: ContextTag): boolean {
  return node?.tagClass === asn1.Class.CONTEXT_SPECIFIC && node.type === contextTags[tag];
}

export function sequence(items: Asn1[]): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, items);
}

export function set(items: Asn1[]): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SET, true, items);
}

export function oid(dotted: string): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(dotted).getBytes());
}

/** INTEGER from its two's-complement content bytes (the caller keeps them minimal). */
export function integer(content: Buffer): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, content.toString('binary'));
}

export function boolean(value: boolean): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BOOLEAN, false, value ? '\xff' : '\x00');
}

export function nullValue(): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.NULL, false, '');
}

export function octetString(content: Buffer): Asn1 {
  return asn1.create(
    asn1.Class.UNIVERSAL,
    asn1.Type.OCTETSTRING,
    false,
    content.toString('binary'),
  );
}

/** BIT STRING: the first content byte is the number of unused bits in the last byte. */
export function bitString(unusedBits: number, bytes: Buffer): Asn1 {
  const content = String.fromCharCode(unusedBits) + bytes.toString('binary');
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, content);
}

/** UTF8String of ASCII text (the only text the leaves carry). */
export function utf8String(text: string): Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTF8, false, text);
}

/** `[tag] IMPLICIT` primitive, e.g. GeneralName dNSName [2] and iPAddress [7]. */
export function contextPrimitive(tag: ContextTag, content: Buffer): Asn1 {
  const type = contextTags[tag];
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, type, false, content.toString('binary'));
}

/** `[tag] EXPLICIT` wrapper, e.g. the TBSCertificate version [0] and extensions [3]. */
export function contextExplicit(tag: ContextTag, inner: Asn1): Asn1 {
  return asn1.create(asn1.Class.CONTEXT_SPECIFIC, contextTags[tag], true, [inner]);
}

const Y2050_MS = Date.UTC(2050, 0, 1);

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds. */
export function time(date: Date): Asn1 {
  return date.getTime() < Y2050_MS
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(
        asn1.Class.UNIVERSAL,
        asn1.Type.GENERALIZEDTIME,
        false,
        asn1.dateToGeneralizedTime(date),
      );
}

export function timeToDate(node: Asn1 | undefined, what: string): Date {
  const text = contentOf(node, what).toString('binary');
  return node?.type === asn1.Type.UTCTIME
    ? asn1.utcTimeToDate(text)
    : asn1.generalizedTimeToDate(text);
}

export function oidOf(node: Asn1 | undefined, what: string): string {
  if (node?.type !== asn1.Type.OID) throw new TypeError(`${what}: not an OBJECT IDENTIFIER`);
  return asn1.derToOid(contentOf(node, what).toString('binary'));
}

export function isBoolean(node: Asn1 | undefined): boolean {
  return node?.tagClass === asn1.Class.UNIVERSAL && node.type === asn1.Type.BOOLEAN;
}
