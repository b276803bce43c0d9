import { createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { dnsSubjectAltName, spkiOf } from './build.ts';
import { readGeneralNames } from './certificate.ts';
import {
  bitString,
  children,
  content,
  DerError,
  type DerNode,
  expectTag,
  oid,
  readBitString,
  readOid,
  readRoot,
  readText,
  sequence,
  set,
  smallInteger,
  Tag,
  tlv,
  whole,
} from './der.ts';
import { PkiError } from './errors.ts';
import {
  checkSupportedKey,
  hashForSignatureOid,
  isP256PublicKeyInfo,
  signatureAlgorithmFor,
} from './keys.ts';

const EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const SUBJECT_ALT_NAME = '2.5.29.17';
const COMMON_NAME = '2.5.4.3';

/**
 * A PKCS#10 request for `identity`: empty subject, the identity as its only
 * DNS SAN, signed with `privateKey`. Returns DER.
 */
export function createCsr(privateKey: KeyObject, identity: string): Uint8Array {
  const publicKey = createPublicKey(privateKey);
  const extensionRequest = sequence(
    oid(EXTENSION_REQUEST),
    set(sequence(dnsSubjectAltName([identity], true))),
  );
  const info = sequence(smallInteger(0), sequence(), spkiOf(publicKey), tlv(0xa0, extensionRequest));
  const algorithm = signatureAlgorithmFor(privateKey);
  return sequence(info, algorithm.identifier, bitString(sign(algorithm.hash, info, privateKey)));
}

/** What a parsed, signature-checked request asks for. */
export interface ParsedCsr {
  /** DER SubjectPublicKeyInfo of the requester's key. */
  subjectPublicKeyInfo: Uint8Array;
  publicKey: KeyObject;
  commonName: string | undefined;
  dnsNames: string[];
  /** SANs other than DNS names ("URI:…", "IP:…", "email:…"). */
  otherNames: string[];
}

/**
 * Parses a DER PKCS#10 request and verifies its self-signature (proof that the
 * caller holds the key). Throws E_CSR_INVALID naming `caller`.
 */
export function parseCsr(der: Uint8Array, caller: string): ParsedCsr {
  try {
    return parse(der, caller);
  } catch (error) {
    if (error instanceof DerError) {
      throw new PkiError(
        'E_CSR_INVALID',
        `${caller}: the certificate signing request is malformed: ${error.message}`,
      );
    }
    throw error;
  }
}

function parse(der: Uint8Array, caller: string): ParsedCsr {
  const [infoNode, algorithmNode, signatureNode] = children(
    der,
    expectTag(readRoot(der), Tag.sequence, 'request'),
  );
  const info = expectTag(infoNode, Tag.sequence, 'certificationRequestInfo');
  const algorithm = children(der, expectTag(algorithmNode, Tag.sequence, 'signatureAlgorithm'));
  const algorithmId = readOid(der, algorithm[0] as DerNode);
  const { bits: signature } = readBitString(der, signatureNode as DerNode);

  const [, subjectNode, spkiNode, attributesNode] = children(der, info);
  const subjectPublicKeyInfo = new Uint8Array(whole(der, expectTag(spkiNode, Tag.sequence, 'subjectPKInfo')));
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(subjectPublicKeyInfo), format: 'der', type: 'spki' });
  } catch (error) {
    throw new PkiError('E_CSR_INVALID', `${caller}: the request's public key cannot be read`, {
      cause: error,
    });
  }
  if (!isP256PublicKeyInfo(subjectPublicKeyInfo))
    checkSupportedKey(publicKey, `${caller}: the request's key`);

  const hash = hashForSignatureOid(algorithmId);
  if (!hash) {
    throw new PkiError(
      'E_CSR_INVALID',
      `${caller}: the request is signed with an unsupported algorithm (${algorithmId})`,
    );
  }
  if (!verify(hash, whole(der, info), publicKey, signature)) {
    throw new PkiError('E_CSR_INVALID', `${caller}: the request's signature does not verify`, {
      hint: 'the request must be signed by the key it certifies',
    });
  }

  const names = attributesNode ? requestedNames(der, attributesNode) : { dns: [], other: [] };
  return {
    subjectPublicKeyInfo,
    publicKey,
    commonName: commonNameOf(der, expectTag(subjectNode, Tag.sequence, 'subject')),
    dnsNames: names.dns,
    otherNames: names.other,
  };
}

function requestedNames(der: Uint8Array, attributes: DerNode): { dns: string[]; other: string[] } {
  const dns: string[] = [];
  const other: string[] = [];
  for (const attribute of children(der, expectTag(attributes, 0xa0, 'attributes'))) {
    const [typeNode, valuesNode] = children(der, expectTag(attribute, Tag.sequence, 'attribute'));
    if (readOid(der, typeNode as DerNode) !== EXTENSION_REQUEST) continue;
    for (const extensions of children(der, expectTag(valuesNode, Tag.set, 'attribute values'))) {
      for (const extension of children(der, expectTag(extensions, Tag.sequence, 'extensions'))) {
        const parts = children(der, expectTag(extension, Tag.sequence, 'extension'));
        if (readOid(der, parts[0] as DerNode) !== SUBJECT_ALT_NAME) continue;
        const names = readGeneralNames(
          content(der, expectTag(parts.at(-1), Tag.octetString, 'extension value')),
        );
        dns.push(...names.dns);
        other.push(...names.other);
      }
    }
  }
  return { dns, other };
}

function commonNameOf(der: Uint8Array, name: DerNode): string | undefined {
  for (const rdn of children(der, name)) {
    for (const pair of children(der, expectTag(rdn, Tag.set, 'relative distinguished name'))) {
      const [type, value] = children(der, expectTag(pair, Tag.sequence, 'attribute'));
      if (readOid(der, type as DerNode) === COMMON_NAME) return readText(der, value as DerNode);
    }
  }
  return undefined;
}

/**
 * Throws E_CSR_IDENTITY_MISMATCH unless the request names exactly `identity`:
 * one DNS SAN equal to it, no other SANs, and a common name that is empty or equal.
 */
export function checkCsrIdentity(csr: ParsedCsr, identity: string, caller: string): void {
  const fail = (reason: string) => {
    throw new PkiError(
      'E_CSR_IDENTITY_MISMATCH',
      `${caller}: the request does not match identity "${identity}": ${reason}`,
      {
        hint: 'the request must carry the identity as its only subject alternative name (a DNS name)',
      },
    );
  };
  if (csr.otherNames.length > 0) fail(`it asks for other names too (${csr.otherNames.join(', ')})`);
  if (csr.dnsNames.length === 0) fail('it has no DNS subject alternative name');
  if (csr.dnsNames.length > 1)
    fail(`it asks for ${csr.dnsNames.length} DNS names (${csr.dnsNames.join(', ')})`);
  if (csr.dnsNames[0] !== identity) fail(`it asks for "${csr.dnsNames[0]}"`);
  if (csr.commonName !== undefined && csr.commonName !== '' && csr.commonName !== identity) {
    fail(`its common name is "${csr.commonName}"`);
  }
}
