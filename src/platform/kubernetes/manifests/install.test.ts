import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.ts';
import { CRD_KINDS } from '../crds.ts';
import { formatManifest } from './format.ts';
import { assertGolden, testdataPath } from './golden.ts';
import { checkInstallIdentity } from './identity-material.ts';
import { injectorWebhookName, renderInstall } from './install.ts';
import { defaultMeshSettings, type MeshSettings } from './settings.ts';

const pem = (name: string) => ({ pem: readFileSync(testdataPath(`pki/${name}`), 'utf8'), source: name });

function render(settings: MeshSettings): Resource[] {
  const identity = checkInstallIdentity(pem('anchor.crt'), pem('issuer.crt'), pem('issuer.key'));
  return renderInstall({
    settings,
    version: '0.0.0-test',
    trustAnchorsPem: identity.trustAnchorsPem,
    issuer: identity.issuer,
    injectorTls: {
      caPem: pem('injector-ca.crt').pem,
      certPem: pem('injector.crt').pem,
      keyPem: pem('injector.key').pem,
    },
  });
}

// The image is pinned so that the golden files do not change with the package version.
const defaults = { ...defaultMeshSettings(), image: 'ghcr.io/strait-mesh/strait:test' };
const custom: MeshSettings = {
  controlPlaneNamespace: 'mesh',
  trustDomain: 'example.org',
  clusterDomain: 'k8s.internal',
  image: 'registry.internal/strait:dev',
  imagePullPolicy: 'Always',
  proxyUid: 2102,
};

describe('install manifests', () => {
  it('match the golden files (default and with options)', () => {
    assertGolden('install-default.yaml', formatManifest(render(defaults), 'yaml'));
    assertGolden('install-options.yaml', formatManifest(render(custom), 'yaml'));
  });

  it('start with the namespace and the CRDs, and end with the webhook', () => {
    const resources = render(defaults);
    assert.equal(resources[0]?.kind, 'Namespace');
    const crds = resources.filter((r) => r.kind === 'CustomResourceDefinition');
    assert.equal(crds.length, CRD_KINDS.length);
    assert.equal(resources.at(-1)?.metadata.name, injectorWebhookName('strait'));
    const deployments = resources.filter((r) => r.kind === 'Deployment').map((r) => r.metadata.name);
    assert.deepEqual(deployments, [
      'strait-identity',
      'strait-destination',
      'strait-policy',
      'strait-proxy-injector',
    ]);
  });

  it('put every namespaced object in the control-plane namespace', () => {
    for (const resource of render(custom)) {
      const clusterScoped = ['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'];
      if (clusterScoped.includes(resource.kind) || resource.kind === 'MutatingWebhookConfiguration') {
        assert.equal(resource.metadata.namespace, undefined, `${resource.kind} ${resource.metadata.name}`);
      } else {
        assert.equal(resource.metadata.namespace, 'mesh', `${resource.kind} ${resource.metadata.name}`);
      }
    }
  });

  it('render JSON as a v1 List of the same objects', () => {
    const resources = render(defaults);
    assert.deepEqual(JSON.parse(formatManifest(resources, 'json')), {
      apiVersion: 'v1',
      kind: 'List',
      items: resources,
    });
  });
});

describe('checkInstallIdentity', () => {
  it('refuses an issuer that does not chain to the anchors, naming both files', () => {
    assert.throws(() => checkInstallIdentity(pem('anchor.crt'), pem('issuer-2.crt'), pem('issuer-2.key')), {
      code: 'E_ISSUER_NOT_CHAINED',
      message: /^issuer-2\.crt: the issuer does not chain to the trust anchors in anchor\.crt/,
    });
  });

  it('refuses a key that is not the issuer’s', () => {
    assert.throws(() => checkInstallIdentity(pem('anchor.crt'), pem('issuer.crt'), pem('issuer-2.key')), {
      code: 'E_KEY_MISMATCH',
    });
  });

  it('refuses a file that is not PEM, naming it', () => {
    assert.throws(
      () =>
        checkInstallIdentity({ pem: 'hello', source: 'anchors.pem' }, pem('issuer.crt'), pem('issuer.key')),
      (error: Error & { code?: string }) =>
        error.message.includes('anchors.pem') && typeof error.code === 'string',
    );
  });

  it('accepts a bundle of two anchors and returns both', () => {
    const both = { pem: pem('anchor-2.crt').pem + pem('anchor.crt').pem, source: 'bundle.pem' };
    const identity = checkInstallIdentity(both, pem('issuer.crt'), pem('issuer.key'));
    assert.equal(identity.anchors.length, 2);
  });
});
