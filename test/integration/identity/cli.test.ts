import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createAnchor, createIssuer, loadCertificates, verifyChain } from '../../../src/pki/index.ts';
import { filesIn, fixtures, opensslVerify, strait } from './cli-harness.ts';

const identity = 'web.shop.serviceaccount.identity.strait.cluster.local';
const HOUR = 3_600_000;
const work = mkdtempSync(join(tmpdir(), 'strait-identity-cli-'));
after(() => rmSync(work, { recursive: true, force: true }));
const path = (...parts: string[]) => join(work, ...parts);

describe('strait identity: anchor, issuer, issue, bundle, inspect', () => {
  it('makes a chain that openssl verifies, with private keys mode 0600', async () => {
    assert.equal((await strait('identity', 'anchor', '--out', path('mesh'))).code, 0);
    const issuer = await strait(
      'identity',
      'issuer',
      '--anchor-cert',
      path('mesh/ca.crt'),
      '--anchor-key',
      path('mesh/ca.key'),
      '--out',
      path('west'),
      '--name',
      'identity.west.example',
      '--valid-for',
      '720h',
    );
    assert.equal(issuer.code, 0, issuer.stderr);
    const issued = await strait(
      'identity',
      'issue',
      '--issuer-cert',
      path('west/issuer.crt'),
      '--issuer-key',
      path('west/issuer.key'),
      '--identity',
      identity,
      '--out',
      path('web'),
    );
    assert.equal(issued.code, 0, issued.stderr);
    assert.match(opensslVerify(path('mesh/ca.crt'), path('west/issuer.crt'), path('web/leaf.crt')), /: OK/);
    for (const key of ['mesh/ca.key', 'west/issuer.key', 'web/leaf.key']) {
      assert.equal(statSync(path(key)).mode & 0o777, 0o600, key);
    }
    assert.equal(statSync(path('mesh/ca.crt')).mode & 0o777, 0o644);
    const chain = verifyChain(
      readFileSync(path('web/leaf.crt'), 'utf8'),
      readFileSync(path('web/chain.crt'), 'utf8'),
      readFileSync(path('mesh/ca.crt'), 'utf8'),
      { expectedIdentity: identity },
    );
    assert.equal(chain.path[1]?.subject, 'CN=identity.west.example');
    const issuerCert = loadCertificates(readFileSync(path('west/issuer.crt'), 'utf8'), 'issuer.crt')[0];
    const days = ((issuerCert?.notAfter.getTime() ?? 0) - Date.now()) / (24 * HOUR);
    assert.ok(days > 29.9 && days < 30.1, `--valid-for 720h gives 30 days, got ${days}`);
  });

  it('inspects a chain as a table and as JSON, and verifies it against a bundle', async () => {
    const table = await strait('identity', 'inspect', path('web/chain.crt'), '--bundle', path('mesh/ca.crt'));
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /DNS names: +web\.shop\.serviceaccount/);
    assert.match(table.stdout, /CA: +yes, path length 0/);
    assert.match(table.stdout, /Chain: 1 ← 2 ← \(not in file: CN=root\.strait\.cluster\.local\)/);
    assert.match(table.stdout, /Verified: ✓/);
    const json = await strait('identity', 'inspect', path('web/chain.crt'), '-o', 'json');
    const report = JSON.parse(json.stdout);
    assert.equal(report.certificates.length, 2);
    assert.deepEqual(report.certificates[0].dnsNames, [identity]);
    assert.equal(report.certificates[0].ca, false);
    assert.equal(report.certificates[0].keyType, 'ECDSA P-256');
    assert.equal(report.certificates[0].signedBy, 1);
    assert.equal(report.certificates[1].ca, true);
  });

  it('bundles anchors without duplicates', async () => {
    assert.equal(
      (await strait('identity', 'anchor', '--out', path('next'), '--name', 'root-2.example')).code,
      0,
    );
    const result = await strait(
      'identity',
      'bundle',
      path('mesh/ca.crt'),
      path('next/ca.crt'),
      path('mesh/ca.crt'),
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(loadCertificates(result.stdout, 'bundle').length, 2);
    const toFile = await strait(
      'identity',
      'bundle',
      path('mesh/ca.crt'),
      path('next/ca.crt'),
      '--out',
      path('bundle/trust.crt'),
    );
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(readFileSync(path('bundle/trust.crt'), 'utf8'), result.stdout);
  });

  it('says when a lifetime was shortened to end with the signer', async () => {
    const result = await strait(
      'identity',
      'issuer',
      '--anchor-cert',
      path('mesh/ca.crt'),
      '--anchor-key',
      path('mesh/ca.key'),
      '--out',
      path('long'),
      '--valid-for',
      '200000h',
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /shortened to end with the anchor's/);
    const issuerCert = loadCertificates(readFileSync(path('long/issuer.crt'), 'utf8'), 'issuer.crt')[0];
    const anchorCert = loadCertificates(readFileSync(path('mesh/ca.crt'), 'utf8'), 'ca.crt')[0];
    assert.equal(issuerCert?.notAfter.getTime(), anchorCert?.notAfter.getTime());
  });

  it('never replaces existing files unless --force is given', async () => {
    const before = readFileSync(path('mesh/ca.key'), 'utf8');
    const again = await strait('identity', 'anchor', '--out', path('mesh'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /E_FILE_EXISTS/);
    assert.equal(readFileSync(path('mesh/ca.key'), 'utf8'), before);
    assert.equal((await strait('identity', 'anchor', '--out', path('next'), '--force')).code, 0);
  });
});

describe('strait identity with anchors and issuers made by other tools', () => {
  const kinds = ['openssl-ec', 'openssl-rsa', 'step-ec', 'step-rsa'];
  for (const kind of kinds) {
    const dir = join(fixtures, kind);
    it(`issues from a ${kind} issuer and openssl verifies the leaf`, async () => {
      const out = path(`${kind}-leaf`);
      const result = await strait(
        'identity',
        'issue',
        '--issuer-cert',
        join(dir, 'issuer.crt'),
        '--issuer-key',
        join(dir, 'issuer.key'),
        '--identity',
        identity,
        '--out',
        out,
      );
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        opensslVerify(join(dir, 'ca.crt'), join(dir, 'issuer.crt'), join(out, 'leaf.crt')),
        /: OK/,
      );
    });

    it(`makes an issuer under a ${kind} anchor`, async () => {
      const out = path(`${kind}-issuer`);
      const made = await strait(
        'identity',
        'issuer',
        '--anchor-cert',
        join(dir, 'ca.crt'),
        '--anchor-key',
        join(dir, 'ca.key'),
        '--out',
        out,
      );
      assert.equal(made.code, 0, made.stderr);
      const leaf = path(`${kind}-issuer-leaf`);
      const issued = await strait(
        'identity',
        'issue',
        '--issuer-cert',
        join(out, 'issuer.crt'),
        '--issuer-key',
        join(out, 'issuer.key'),
        '--identity',
        identity,
        '--out',
        leaf,
      );
      assert.equal(issued.code, 0, issued.stderr);
      assert.match(
        opensslVerify(join(dir, 'ca.crt'), join(out, 'issuer.crt'), join(leaf, 'leaf.crt')),
        /: OK/,
      );
      const bundle = await strait('identity', 'bundle', join(dir, 'ca.crt'));
      assert.equal(bundle.code, 0, bundle.stderr);
    });
  }

  it('reads SEC 1 and PKCS#1 private keys', async () => {
    for (const [kind, key] of [
      ['openssl-ec', 'issuer-sec1.key'],
      ['openssl-rsa', 'issuer-pkcs1.key'],
    ]) {
      const dir = join(fixtures, kind as string);
      const result = await strait(
        'identity',
        'issue',
        '--issuer-cert',
        join(dir, 'issuer.crt'),
        '--issuer-key',
        join(dir, key as string),
        '--identity',
        identity,
        '--out',
        path(`${kind}-${key}`),
      );
      assert.equal(result.code, 0, result.stderr);
    }
  });
});

describe('strait identity refuses bad input and writes nothing', () => {
  const anchor = createAnchor();
  const files: Record<string, string> = {
    'garbage.crt': 'this is not a certificate\n',
    'truncated.crt': `${anchor.certPem.split('\n').slice(0, 4).join('\n')}\n-----END CERTIFICATE-----\n`,
    'truncated.key':
      '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n',
    'expired/issuer.crt': '',
    'expired/issuer.key': '',
    'future/issuer.crt': '',
    'future/issuer.key': '',
    'stranger/issuer.crt': '',
  };
  const expired = createIssuer({ anchor, notBefore: new Date(Date.now() - 10 * HOUR), validForMs: HOUR });
  const future = createIssuer({ anchor, notBefore: new Date(Date.now() + 10 * HOUR) });
  const stranger = createIssuer({ anchor: createAnchor() });
  files['expired/issuer.crt'] = expired.certPem;
  files['expired/issuer.key'] = expired.keyPem;
  files['future/issuer.crt'] = future.certPem;
  files['future/issuer.key'] = future.keyPem;
  files['stranger/issuer.crt'] = stranger.certPem;
  files['anchor.crt'] = anchor.certPem;
  for (const [name, content] of Object.entries(files)) {
    rmSync(path('bad', name), { force: true });
    spawnSync('mkdir', ['-p', join(path('bad', name), '..')]);
    writeFileSync(path('bad', name), content);
  }
  const ec = join(fixtures, 'openssl-ec');
  const rsa = join(fixtures, 'openssl-rsa');
  const issue = (cert: string, key: string) => [
    'identity',
    'issue',
    '--issuer-cert',
    cert,
    '--issuer-key',
    key,
    '--identity',
    identity,
    '--out',
    path('bad-out'),
  ];
  const cases: [string, string[], string, string][] = [
    ['garbage PEM', issue(path('bad/garbage.crt'), join(ec, 'issuer.key')), 'E_PEM_INVALID', 'garbage.crt'],
    [
      'a damaged certificate',
      issue(path('bad/truncated.crt'), join(ec, 'issuer.key')),
      'E_CERT_INVALID',
      'truncated.crt',
    ],
    [
      'a damaged key',
      issue(join(ec, 'issuer.crt'), path('bad/truncated.key')),
      'E_KEY_INVALID',
      'truncated.key',
    ],
    [
      'a key passed as the certificate',
      issue(join(ec, 'issuer.key'), join(ec, 'issuer.key')),
      'E_CERT_INVALID',
      'issuer.key',
    ],
    [
      'a certificate passed as the key',
      issue(join(ec, 'issuer.crt'), join(ec, 'issuer.crt')),
      'E_KEY_INVALID',
      'issuer.crt',
    ],
    [
      'a key that does not match',
      issue(join(ec, 'issuer.crt'), join(rsa, 'issuer.key')),
      'E_KEY_MISMATCH',
      'issuer.key',
    ],
    ['a non-CA issuer', issue(join(ec, 'not-ca.crt'), join(ec, 'not-ca.key')), 'E_CERT_NOT_CA', 'not-ca.crt'],
    [
      'an expired issuer',
      issue(path('bad/expired/issuer.crt'), path('bad/expired/issuer.key')),
      'E_CERT_EXPIRED',
      'expired/issuer.crt',
    ],
    [
      'a not-yet-valid issuer',
      issue(path('bad/future/issuer.crt'), path('bad/future/issuer.key')),
      'E_CERT_NOT_YET_VALID',
      'future/issuer.crt',
    ],
    ['a missing file', issue(path('bad/none.crt'), join(ec, 'issuer.key')), 'E_FILE_READ', 'none.crt'],
    [
      'a non-CA anchor',
      [
        'identity',
        'issuer',
        '--anchor-cert',
        join(ec, 'not-ca.crt'),
        '--anchor-key',
        join(ec, 'not-ca.key'),
        '--out',
        path('bad-out'),
      ],
      'E_CERT_NOT_CA',
      'not-ca.crt',
    ],
    [
      'a non-CA certificate in a bundle',
      ['identity', 'bundle', join(ec, 'ca.crt'), join(ec, 'not-ca.crt'), '--out', path('bad-out/bundle.crt')],
      'E_CERT_NOT_CA',
      'not-ca.crt',
    ],
    [
      'an issuer not signed by the anchor',
      ['identity', 'inspect', path('bad/stranger/issuer.crt'), '--bundle', path('bad/anchor.crt')],
      'E_CHAIN_INVALID',
      'stranger/issuer.crt',
    ],
  ];
  for (const [title, argv, code, names] of cases) {
    it(`refuses ${title}`, async () => {
      const result = await strait(...argv);
      assert.equal(result.code, 1, `${result.stdout}${result.stderr}`);
      const text = result.stderr + result.stdout;
      assert.ok(text.includes(code), `expected ${code} in: ${text}`);
      assert.ok(text.includes(names), `expected the message to name ${names}: ${text}`);
      assert.deepEqual(filesIn(path('bad-out')), []);
    });
  }

  const usage: [string, string[]][] = [
    ['a missing --out', ['identity', 'anchor']],
    ['a duration without a unit', ['identity', 'anchor', '--out', path('bad-out'), '--valid-for', '10']],
    [
      'a name that is not an identity',
      issue(join(ec, 'issuer.crt'), join(ec, 'issuer.key')).map((arg) => (arg === identity ? 'web' : arg)),
    ],
    ['an unknown flag', ['identity', 'anchor', '--out', path('bad-out'), '--bogus']],
    ['inspect without a file', ['identity', 'inspect']],
    ['an unknown output format', ['identity', 'inspect', join(ec, 'ca.crt'), '-o', 'xml']],
  ];
  for (const [title, argv] of usage) {
    it(`exits 2 on ${title}`, async () => {
      const result = await strait(...argv);
      assert.equal(result.code, 2, result.stderr);
      assert.deepEqual(filesIn(path('bad-out')), []);
    });
  }

  it('exits non-zero from the real binary with the reason on stderr', () => {
    const bin = new URL('../../../src/cmd/strait.ts', import.meta.url).pathname;
    const result = spawnSync(
      process.execPath,
      [bin, ...issue(join(ec, 'not-ca.crt'), join(ec, 'not-ca.key'))],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(result.status, 1);
    assert.match(result.stderr, /not-ca\.crt: the issuer certificate is not a CA .*E_CERT_NOT_CA/);
    assert.deepEqual(filesIn(path('bad-out')), []);
  });
});
