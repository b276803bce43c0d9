import { createHash, type KeyObject, randomBytes, sign } from 'node:crypto';
import {
  bitString,
  boolean,
  children,
  type DerNode,
  explicit,
  ia5,
  octetString,
  oid,
  readBitString,
  readRoot,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8,
} from './der.ts';
import { signatureAlgorithmFor } from './keys.ts';

/** What goes into a certificate Strait writes. */
export interface CertificateFields {
  /** DER Name of the signer (its certificate's subject, byte for byte). */
  issuerName: Uint8Array;
  /** DER Name of the subject. */
  subjectName: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER SubjectPublicKeyInfo of the certified key. */
  subjectPublicKeyInfo: Uint8Array;
  /** DER Extension elements, see the builders below. */
  extensions: Uint8Array[];
  signingKey: KeyObject;
}

const VERSION_3 = explicit(0, smallInteger(2));

/** Builds and signs an X.509 v3 certificate; returns its DER. */
export function buildCertificate(fields: CertificateFields): Uint8Array {
  const algorithm = signatureAlgorithmFor(fields.signingKey);
  const tbs = sequence(
    VERSION_3,
    unsignedInteger(newSerialNumber()),
    algorithm.identifier,
    fields.issuerName,
    sequence(time(fields.notBefore), time(fields.notAfter)),
    fields.subjectName,
    fields.subjectPublicKeyInfo,
    explicit(3, sequence(...fields.extensions)),
  );
  const signature = sign(algorithm.hash, tbs, fields.signingKey);
  return sequence(tbs, algorithm.identifier, bitString(signature));
}

/** 16 random bytes, first bit clear so the INTEGER stays positive and 16 bytes long. */
function newSerialNumber(): Uint8Array {
  const serial = randomBytes(16);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  return serial;
}

/** A Name holding one common name, or the empty Name. */
export function distinguishedName(commonName: string | undefined): Uint8Array {
  if (commonName === undefined || commonName === '') return sequence();
  return sequence(set(sequence(oid('2.5.4.3'), utf8(commonName))));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value));
}

export function basicConstraints(ca: boolean, pathLength?: number): Uint8Array {
  const body = ca ? [boolean(true), ...(pathLength === undefined ? [] : [smallInteger(pathLength)])] : [];
  return extension('2.5.29.19', true, sequence(...body));
}

const KEY_USAGE_BITS = {
  digitalSignature: 0,
  keyEncipherment: 2,
  keyCertSign: 5,
  cRLSign: 6,
} as const;

export function keyUsage(...usages: (keyof typeof KEY_USAGE_BITS)[]): Uint8Array {
  const bitIndexes = usages.map((usage) => KEY_USAGE_BITS[usage]);
  const highest = Math.max(...bitIndexes);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const bit of bitIndexes) bytes[bit >> 3] = (bytes[bit >> 3] as number) | (0x80 >> (bit & 7));
  const unused = 7 - (highest & 7);
  const value = Uint8Array.of(0x03, bytes.length + 1, unused, ...bytes);
  return extension('2.5.29.15', true, value);
}

const SERVER_AUTH = oid('1.3.6.1.5.5.7.3.1');
const CLIENT_AUTH = oid('1.3.6.1.5.5.7.3.2');

/** serverAuth and clientAuth: workload certificates serve both ends of mTLS. */
export function mtlsExtendedKeyUsage(): Uint8Array {
  return extension('2.5.29.37', false, sequence(SERVER_AUTH, CLIENT_AUTH));
}

export function subjectKeyIdentifier(keyId: Uint8Array): Uint8Array {
  return extension('2.5.29.14', false, octetString(keyId));
}

export function authorityKeyIdentifier(keyId: Uint8Array): Uint8Array {
  // keyIdentifier is [0] IMPLICIT OCTET STRING
  const body = new Uint8Array(keyId.length + 2);
  body.set([0x80, keyId.length], 0);
  body.set(keyId, 2);
  return extension('2.5.29.35', false, sequence(body));
}

/** SubjectAltName with DNS names; critical when the subject is empty (RFC 5280 4.2.1.6). */
export function dnsSubjectAltName(names: string[], critical: boolean): Uint8Array {
  const entries = names.map((name) => {
    const encoded = ia5(name);
    encoded[0] = 0x82; // [2] IMPLICIT IA5String
    return encoded;
  });
  return extension('2.5.29.17', critical, sequence(...entries));
}

/** RFC 5280 method 1 key identifier: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(subjectPublicKeyInfo: Uint8Array): Uint8Array {
  const parts = children(subjectPublicKeyInfo, readRoot(subjectPublicKeyInfo));
  const { bits } = readBitString(subjectPublicKeyInfo, parts[1] as DerNode);
  return new Uint8Array(createHash('sha1').update(bits).digest());
}

export function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }));
}
