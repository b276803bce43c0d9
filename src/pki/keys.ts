import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { nullValue, oid, sequence } from './der.ts';
import { PkiError } from './errors.ts';
import { readPemBlocks } from './pem.ts';

/** A new ECDSA P-256 key pair: the only kind Strait generates. */
export function generateKeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** PKCS#8 PEM of a private key. */
export function privateKeyPem(key: KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }) as string;
}

/**
 * Reads a PEM private key (PKCS#8, SEC 1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY")
 * and checks it is a kind Strait can sign with.
 */
export function loadPrivateKey(pem: string, source: string): KeyObject {
  const blocks = readPemBlocks(pem, source);
  const block = blocks.find((b) => b.label.endsWith('PRIVATE KEY'));
  if (!block) {
    throw new PkiError('E_KEY_INVALID', `${source}: no private key found (found ${blocks[0]?.label})`, {
      hint: 'pass the key file, not the certificate',
    });
  }
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:.*ENCRYPTED/.test(pem)) {
    throw new PkiError('E_KEY_INVALID', `${source}: the private key is encrypted`, {
      hint: 'decrypt it first, e.g. openssl pkey -in key.pem -out plain.pem',
    });
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new PkiError(
      'E_KEY_INVALID',
      `${source}: the private key cannot be read: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  checkSupportedKey(key, source);
  return key;
}

/** A short description such as "ECDSA P-256" or "RSA-2048". */
export function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec':
      return `ECDSA ${curveName(details.namedCurve)}`;
    case 'rsa':
      return `RSA-${details.modulusLength}`;
    case 'ed25519':
      return 'Ed25519';
    default:
      return String(key.asymmetricKeyType);
  }
}

function curveName(curve: string | undefined): string {
  if (curve === 'prime256v1') return 'P-256';
  if (curve === 'secp384r1') return 'P-384';
  return String(curve);
}

/** Throws E_KEY_UNSUPPORTED unless the key is ECDSA P-256/P-384 or RSA of at least 2048 bits. */
export function checkSupportedKey(key: KeyObject, source: string): void {
  const details = key.asymmetricKeyDetails ?? {};
  const supported =
    (key.asymmetricKeyType === 'ec' &&
      (details.namedCurve === 'prime256v1' || details.namedCurve === 'secp384r1')) ||
    (key.asymmetricKeyType === 'rsa' && (details.modulusLength ?? 0) >= 2048);
  if (!supported) {
    throw new PkiError('E_KEY_UNSUPPORTED', `${source}: ${describeKey(key)} keys are not supported`, {
      hint: 'use ECDSA P-256 (preferred), ECDSA P-384 or RSA with at least 2048 bits',
    });
  }
}

/** How a key signs: the hash to use and the DER AlgorithmIdentifier to write. */
export interface SignatureAlgorithm {
  hash: 'sha256' | 'sha384';
  identifier: Uint8Array;
}

const ECDSA_SHA256 = sequence(oid('1.2.840.10045.4.3.2'));
const ECDSA_SHA384 = sequence(oid('1.2.840.10045.4.3.3'));
const RSA_SHA256 = sequence(oid('1.2.840.113549.1.1.11'), nullValue());

// Reading a KeyObject's details is costly on the signing path; a signer's key never changes.
const algorithms = new WeakMap<KeyObject, SignatureAlgorithm>();

export function signatureAlgorithmFor(key: KeyObject): SignatureAlgorithm {
  let algorithm = algorithms.get(key);
  if (!algorithm) {
    if (key.asymmetricKeyType === 'rsa') algorithm = { hash: 'sha256', identifier: RSA_SHA256 };
    else if (key.asymmetricKeyDetails?.namedCurve === 'secp384r1')
      algorithm = { hash: 'sha384', identifier: ECDSA_SHA384 };
    else algorithm = { hash: 'sha256', identifier: ECDSA_SHA256 };
    algorithms.set(key, algorithm);
  }
  return algorithm;
}

/** The fixed start of every uncompressed ECDSA P-256 SubjectPublicKeyInfo (91 bytes in all). */
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

/** True when the DER SubjectPublicKeyInfo is an ECDSA P-256 key: a cheap check for the common case. */
export function isP256PublicKeyInfo(spki: Uint8Array): boolean {
  return spki.length === 91 && P256_SPKI_PREFIX.equals(spki.subarray(0, P256_SPKI_PREFIX.length));
}

/** Hash for a signature algorithm OID found in a request or certificate, or undefined when unsupported. */
export function hashForSignatureOid(dotted: string): 'sha256' | 'sha384' | 'sha512' | undefined {
  return (
    {
      '1.2.840.10045.4.3.2': 'sha256',
      '1.2.840.10045.4.3.3': 'sha384',
      '1.2.840.10045.4.3.4': 'sha512',
      '1.2.840.113549.1.1.11': 'sha256',
      '1.2.840.113549.1.1.12': 'sha384',
      '1.2.840.113549.1.1.13': 'sha512',
    } as const
  )[dotted];
}
