import { X509Certificate } from 'node:crypto';
import {
  children,
  content,
  DerError,
  type DerNode,
  expectTag,
  readBitString,
  readOid,
  readRoot,
  readText,
  Tag,
  whole,
} from './der.ts';
import { PkiError } from './errors.ts';
import { describeKey } from './keys.ts';
import { readPemBlocks, toPem } from './pem.ts';

/** A parsed X.509 certificate with the facts Strait checks and shows. */
export interface Certificate {
  /** Where it came from (a file path or a caller), used in every error about it. */
  readonly source: string;
  readonly pem: string;
  readonly der: Uint8Array;
  /** Node's parsed form, for signature and issuer checks. */
  readonly x509: X509Certificate;
  /** Subject and issuer as "CN=…, O=…". */
  readonly subject: string;
  readonly issuer: string;
  /** The subject Name exactly as encoded, written as the issuer of certificates this one signs. */
  readonly subjectDer: Uint8Array;
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /** basicConstraints pathLenConstraint, when present. */
  readonly pathLength: number | undefined;
  /** Key usage names (e.g. keyCertSign), or undefined when the extension is absent. */
  readonly keyUsage: string[] | undefined;
  /** Extended key usage names (serverAuth, clientAuth, or dotted OIDs). */
  readonly extendedKeyUsage: string[];
  readonly dnsNames: string[];
  /** SANs other than DNS names, as "URI:…", "IP:…", "email:…", "other". */
  readonly otherNames: string[];
  /** "ECDSA P-256", "RSA-2048", … */
  readonly keyType: string;
  readonly subjectKeyId: string | undefined;
  readonly authorityKeyId: string | undefined;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint: string;
  readonly selfSigned: boolean;
  /** Critical extensions Strait does not understand (e.g. name constraints); chains through them are refused. */
  readonly unknownCriticalExtensions: string[];
}

const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
];

const EKU_NAMES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.1': 'serverAuth',
  '1.3.6.1.5.5.7.3.2': 'clientAuth',
};

/** Every certificate in a PEM text, in order. Throws E_PEM_INVALID / E_CERT_INVALID naming `source`. */
export function loadCertificates(pem: string, source: string): Certificate[] {
  const blocks = readPemBlocks(pem, source);
  const certificates = blocks.filter((block) => block.label === 'CERTIFICATE');
  if (certificates.length === 0) {
    throw new PkiError('E_CERT_INVALID', `${source}: no certificate found (found ${blocks[0]?.label})`, {
      hint: 'pass a PEM file with a "-----BEGIN CERTIFICATE-----" block',
    });
  }
  return certificates.map((block, index) =>
    parseCertificate(block.der, certificates.length > 1 ? `${source} (certificate ${index + 1})` : source),
  );
}

/** The first certificate in a PEM text (a file may carry its chain after it). */
export function loadCertificate(pem: string, source: string): Certificate {
  return loadCertificates(pem, source)[0] as Certificate;
}

/** Parses one DER certificate. */
export function parseCertificate(der: Uint8Array, source: string): Certificate {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (error) {
    throw new PkiError(
      'E_CERT_INVALID',
      `${source}: not a valid X.509 certificate (its DER encoding cannot be parsed)`,
      {
        cause: error,
      },
    );
  }
  try {
    return fromParsed(der, x509, source);
  } catch (error) {
    if (error instanceof DerError) {
      throw new PkiError('E_CERT_INVALID', `${source}: malformed certificate: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function fromParsed(der: Uint8Array, x509: X509Certificate, source: string): Certificate {
  const root = expectTag(readRoot(der), Tag.sequence, 'certificate');
  const tbs = expectTag(children(der, root)[0], Tag.sequence, 'tbsCertificate');
  const fields = children(der, tbs);
  const offset = fields[0]?.tag === 0xa0 ? 1 : 0;
  const subjectNode = expectTag(fields[offset + 4], Tag.sequence, 'subject');
  const extensionsNode = fields.find((node) => node.tag === 0xa3);
  const parsed = extensionsNode
    ? readExtensions(der, extensionsNode)
    : { values: new Map<string, Uint8Array>(), unknownCritical: [] };
  const extensions = parsed.values;

  const basic = extensions.get('2.5.29.19');
  const constraints = basic ? readBasicConstraints(basic) : { ca: false, pathLength: undefined };
  const usage = extensions.get('2.5.29.15');
  const san = extensions.get('2.5.29.17');
  const names = san ? readGeneralNames(san) : { dns: [], other: [] };
  const ski = extensions.get('2.5.29.14');
  const aki = extensions.get('2.5.29.35');
  const eku = extensions.get('2.5.29.37');
  const bytes = new Uint8Array(der);
  return {
    source,
    pem: toPem('CERTIFICATE', bytes),
    der: bytes,
    x509,
    subject: (x509.subject ?? '').split('\n').join(', '),
    issuer: (x509.issuer ?? '').split('\n').join(', '),
    subjectDer: new Uint8Array(whole(der, subjectNode)),
    serialNumber: x509.serialNumber,
    notBefore: x509.validFromDate,
    notAfter: x509.validToDate,
    isCa: constraints.ca,
    pathLength: constraints.pathLength,
    keyUsage: usage ? readKeyUsage(usage) : undefined,
    extendedKeyUsage: eku ? readExtendedKeyUsage(eku) : [],
    dnsNames: names.dns,
    otherNames: names.other,
    keyType: describeKey(x509.publicKey),
    subjectKeyId: ski
      ? hex(content(ski, expectTag(readRoot(ski), Tag.octetString, 'subjectKeyIdentifier')))
      : undefined,
    authorityKeyId: aki ? readAuthorityKeyId(aki) : undefined,
    fingerprint: x509.fingerprint256,
    selfSigned: x509.subject === x509.issuer && x509.verify(x509.publicKey),
    unknownCriticalExtensions: parsed.unknownCritical,
  };
}

/** Extensions whose meaning Strait checks or that carry no constraint. */
const UNDERSTOOD_EXTENSIONS = new Set([
  '2.5.29.14',
  '2.5.29.15',
  '2.5.29.17',
  '2.5.29.19',
  '2.5.29.35',
  '2.5.29.37',
]);

const EXTENSION_NAMES: Record<string, string> = {
  '2.5.29.30': 'nameConstraints',
  '2.5.29.32': 'certificatePolicies',
  '2.5.29.36': 'policyConstraints',
  '2.5.29.54': 'inhibitAnyPolicy',
};

function readExtensions(
  der: Uint8Array,
  wrapper: DerNode,
): { values: Map<string, Uint8Array>; unknownCritical: string[] } {
  const list = expectTag(children(der, wrapper)[0], Tag.sequence, 'extensions');
  const values = new Map<string, Uint8Array>();
  const unknownCritical: string[] = [];
  for (const extension of children(der, list)) {
    const parts = children(der, expectTag(extension, Tag.sequence, 'extension'));
    const id = readOid(der, parts[0] as DerNode);
    const value = expectTag(parts.at(-1), Tag.octetString, 'extension value');
    const critical = parts.length === 3 && parts[1]?.tag === Tag.boolean && der[parts[1].contentStart] !== 0;
    if (critical && !UNDERSTOOD_EXTENSIONS.has(id))
      unknownCritical.push(EXTENSION_NAMES[id] ? `${EXTENSION_NAMES[id]} (${id})` : id);
    values.set(id, new Uint8Array(content(der, value)));
  }
  return { values, unknownCritical };
}

function readBasicConstraints(value: Uint8Array): { ca: boolean; pathLength: number | undefined } {
  const parts = children(value, expectTag(readRoot(value), Tag.sequence, 'basicConstraints'));
  let ca = false;
  let pathLength: number | undefined;
  for (const part of parts) {
    if (part.tag === Tag.boolean) ca = value[part.contentStart] !== 0;
    if (part.tag === Tag.integer) pathLength = content(value, part).reduce((n, byte) => n * 256 + byte, 0);
  }
  return { ca, pathLength };
}

function readKeyUsage(value: Uint8Array): string[] {
  const { bits } = readBitString(value, readRoot(value));
  return KEY_USAGE_NAMES.filter((_, bit) => ((bits[bit >> 3] ?? 0) & (0x80 >> (bit & 7))) !== 0);
}

function readExtendedKeyUsage(value: Uint8Array): string[] {
  return children(value, expectTag(readRoot(value), Tag.sequence, 'extKeyUsage')).map((node) => {
    const id = readOid(value, node);
    return EKU_NAMES[id] ?? id;
  });
}

function readAuthorityKeyId(value: Uint8Array): string | undefined {
  const keyId = children(value, expectTag(readRoot(value), Tag.sequence, 'authorityKeyIdentifier')).find(
    (node) => node.tag === 0x80,
  );
  return keyId ? hex(content(value, keyId)) : undefined;
}

/** Splits GeneralNames into DNS names and a description of everything else. */
export function readGeneralNames(value: Uint8Array): { dns: string[]; other: string[] } {
  const dns: string[] = [];
  const other: string[] = [];
  for (const node of children(value, expectTag(readRoot(value), Tag.sequence, 'subjectAltName'))) {
    switch (node.tag) {
      case 0x82:
        dns.push(readText(value, node));
        break;
      case 0x81:
        other.push(`email:${readText(value, node)}`);
        break;
      case 0x86:
        other.push(`URI:${readText(value, node)}`);
        break;
      case 0x87:
        other.push(`IP:${formatIp(content(value, node))}`);
        break;
      default:
        other.push(`other(tag 0x${node.tag.toString(16)})`);
    }
  }
  return { dns, other };
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i + 1 < bytes.length; i += 2)
    groups.push(((bytes[i] as number) * 256 + (bytes[i + 1] as number)).toString(16));
  return groups.join(':');
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** The workload identity a certificate carries: its first DNS SAN. */
export function identityOf(certificate: Certificate): string | undefined {
  return certificate.dnsNames[0];
}

/** Throws E_CERT_EXPIRED / E_CERT_NOT_YET_VALID when `now` lies outside the certificate's validity. */
export function checkValidity(certificate: Certificate, now: Date, what = 'certificate'): void {
  if (now < certificate.notBefore) {
    throw new PkiError(
      'E_CERT_NOT_YET_VALID',
      `${certificate.source}: ${what} is not valid until ${certificate.notBefore.toISOString()}`,
      { hint: 'check the clocks of the machine that made it and of this one' },
    );
  }
  if (now > certificate.notAfter) {
    throw new PkiError(
      'E_CERT_EXPIRED',
      `${certificate.source}: ${what} expired at ${certificate.notAfter.toISOString()}`,
      { hint: 'issue a new one' },
    );
  }
}
