import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  checkCsrIdentity,
  createCsr,
  generateKeyPair,
  parseCsr,
  privateKeyPem,
  readPemBlocks,
} from './index.ts';

const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';
const dir = mkdtempSync(join(tmpdir(), 'strait-csr-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A request made by openssl, so the parser is checked against another implementation. */
function opensslCsr(subject: string, altNames: string): Uint8Array {
  const key = join(dir, 'key.pem');
  writeFileSync(key, privateKeyPem(generateKeyPair().privateKey));
  const out = join(dir, 'req.pem');
  const args = ['req', '-new', '-key', key, '-subj', subject, '-out', out];
  if (altNames) args.push('-addext', `subjectAltName=${altNames}`);
  execFileSync('openssl', args, { stdio: 'pipe' });
  return (readPemBlocks(readFileSync(out, 'utf8'), 'req.pem')[0] as { der: Uint8Array }).der;
}

describe('createCsr() and parseCsr()', () => {
  it('round-trips the identity and key', () => {
    const { privateKey } = generateKeyPair();
    const csr = parseCsr(createCsr(privateKey, identity), 'test');
    assert.deepEqual(csr.dnsNames, [identity]);
    assert.equal(csr.commonName, undefined);
    assert.ok(csr.publicKey.equals(createPublicKey(privateKey)));
    checkCsrIdentity(csr, identity, 'test');
  });

  it('produces requests openssl accepts', () => {
    const path = join(dir, 'ours.csr');
    writeFileSync(path, createCsr(generateKeyPair().privateKey, identity));
    const text = execFileSync(
      'openssl',
      ['req', '-inform', 'DER', '-in', path, '-noout', '-verify', '-text'],
      {
        encoding: 'utf8',
        stdio: 'pipe',
      },
    );
    assert.match(text, new RegExp(`DNS:${identity.replaceAll('.', '\\.')}`));
  });

  it('reads requests made by openssl', () => {
    const csr = parseCsr(opensslCsr(`/CN=${identity}`, `DNS:${identity}`), 'test');
    assert.equal(csr.commonName, identity);
    checkCsrIdentity(csr, identity, 'test');
  });

  it('refuses a request whose signature does not verify', () => {
    const der = createCsr(generateKeyPair().privateKey, identity);
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0xff;
    assert.throws(
      () => parseCsr(der, 'caller 10.0.0.1'),
      (error: Error & { code?: string }) => {
        return error.code === 'E_CSR_INVALID' && error.message.startsWith('caller 10.0.0.1:');
      },
    );
  });

  it('refuses garbage', () => {
    for (const bytes of [new Uint8Array(), Uint8Array.of(0x30, 0x05, 1), new TextEncoder().encode('hello')]) {
      assert.throws(() => parseCsr(bytes, 'test'), { code: 'E_CSR_INVALID' });
    }
  });
});

describe('checkCsrIdentity()', () => {
  const cases: [string, string, string, RegExp][] = [
    [
      'another identity',
      '/',
      'DNS:db.shop.serviceaccount.identity.strait.cluster.local',
      /asks for "db\.shop/,
    ],
    ['an extra DNS name', '/', `DNS:${identity},DNS:evil.example`, /2 DNS names/],
    ['a URI name', '/', `DNS:${identity},URI:spiffe://cluster.local/ns/shop/sa/web`, /URI:spiffe/],
    ['an IP address', '/', `DNS:${identity},IP:10.1.2.3`, /IP:10\.1\.2\.3/],
    ['no names at all', '/CN=x', '', /no DNS subject alternative name/],
    ['a different common name', '/CN=admin', `DNS:${identity}`, /common name is "admin"/],
  ];
  for (const [title, subject, names, reason] of cases) {
    it(`refuses a request with ${title}`, () => {
      const csr = parseCsr(opensslCsr(subject, names), 'test');
      assert.throws(
        () => checkCsrIdentity(csr, identity, 'web'),
        (error: Error & { code?: string }) => {
          return error.code === 'E_CSR_IDENTITY_MISMATCH' && reason.test(error.message);
        },
      );
    });
  }
});
