import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { verifyChain } from '../../pki/index.ts';
import { testdataPath } from '../../platform/kubernetes/manifests/golden.ts';

const STRAIT = fileURLToPath(new URL('../../cmd/strait.ts', import.meta.url));
const strait = (args: string[]) => spawnSync(process.execPath, [STRAIT, ...args], { encoding: 'utf8' });
const pki = (name: string) => testdataPath(`pki/${name}`);
const files = (anchor: string, issuer: string) => [
  '--identity-trust-anchors-file',
  pki(anchor),
  '--identity-issuer-certificate-file',
  pki(`${issuer}.crt`),
  '--identity-issuer-key-file',
  pki(`${issuer}.key`),
];

describe('strait install', () => {
  it('prints the control plane with the given anchors and issuer', () => {
    const result = strait(['install', ...files('anchor.crt', 'issuer')]);
    assert.equal(result.status, 0, result.stderr);
    const objects = parseAllDocuments(result.stdout).map((d) => d.toJS());
    const roots = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'strait-identity-trust-roots',
    );
    const issuer = objects.find((o) => o.kind === 'Secret' && o.metadata.name === 'strait-identity-issuer');
    const issuerPem = Buffer.from(issuer.data['tls.crt'], 'base64').toString();
    verifyChain(issuerPem, [], roots.data['ca-bundle.crt']);
    assert.equal(result.stderr, '');
  });

  it('makes a chained anchor and issuer when none are given, and says so', () => {
    const result = strait(['install', '-o', 'json']);
    assert.equal(result.status, 0, result.stderr);
    const list = JSON.parse(result.stdout) as {
      kind: string;
      items: { kind: string; metadata: { name: string } }[];
    };
    assert.equal(list.kind, 'List');
    assert.ok(list.items.some((o) => o.kind === 'MutatingWebhookConfiguration'));
    assert.match(result.stderr, /A new trust anchor and issuer were made/);
  });

  it('refuses an issuer from another anchor with exit 1, naming the files', () => {
    const result = strait(['install', ...files('anchor.crt', 'issuer-2')]);
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /issuer-2\.crt: the issuer does not chain to the trust anchors in .*anchor\.crt/,
    );
    assert.equal(result.stdout, '');
  });

  it('treats partial identity flags and bad values as usage errors (exit 2)', () => {
    const partial = strait(['install', '--identity-trust-anchors-file', pki('anchor.crt')]);
    assert.equal(partial.status, 2);
    assert.match(partial.stderr, /--identity-issuer-certificate-file, --identity-issuer-key-file missing/);
    assert.equal(strait(['install', '--image-pull-policy', 'Sometimes']).status, 2);
    assert.equal(strait(['install', '-o', 'table']).status, 2);
    const missing = strait(['install', ...files('nope.crt', 'issuer')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /nope\.crt: cannot read the file/);
  });
});

describe('strait upgrade and uninstall', () => {
  it('upgrade wants the issuer certificate and key together (exit 2, before reaching a cluster)', () => {
    const result = strait(['upgrade', '--identity-issuer-certificate-file', pki('issuer.crt')]);
    assert.equal(result.status, 2);
    assert.match(
      result.stderr,
      /--identity-issuer-certificate-file and --identity-issuer-key-file go together/,
    );
  });

  it('uninstall lists every object install prints, webhook first and namespace last', () => {
    const installed = JSON.parse(
      strait(['install', ...files('anchor.crt', 'issuer'), '-o', 'json']).stdout,
    ) as {
      items: { kind: string; metadata: { name: string } }[];
    };
    const result = strait(['uninstall', '-o', 'json']);
    assert.equal(result.status, 0, result.stderr);
    const listed = (JSON.parse(result.stdout) as typeof installed).items;
    assert.deepEqual(
      listed.map((o) => `${o.kind}/${o.metadata.name}`),
      installed.items.map((o) => `${o.kind}/${o.metadata.name}`).reverse(),
    );
    assert.equal(listed[0]?.kind, 'MutatingWebhookConfiguration');
    assert.equal(listed.at(-1)?.kind, 'Namespace');
  });
});
