import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Secret } from '../../../core/api/core.ts';
import type { Link } from '../../../core/api/multicluster.ts';
import { createAnchor } from '../../../pki/index.ts';
import { formatKubeconfig } from '../api/kubeconfig.ts';
import { openLocalStore } from '../store/index.ts';
import { linkRemoteStores } from './remote-store.ts';

const link = { metadata: { name: 'east' } } as Link;
const jwt = (claims: object) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2lnbmF0dXJl`;

function credentials(kubeconfig: string | undefined): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'cluster-credentials-east', namespace: 'strait-multicluster' },
    data: kubeconfig ? { kubeconfig: Buffer.from(kubeconfig).toString('base64') } : {},
  };
}

describe('link remote stores', () => {
  const kubeconfig = (token: string) =>
    formatKubeconfig({
      clusterName: 'east',
      server: 'https://127.0.0.1:1',
      caPem: createAnchor().certPem,
      token,
    });

  it('refuses a Secret without credentials, naming it', async () => {
    const local = await openLocalStore();
    try {
      const factory = linkRemoteStores({ local, log: () => {} });
      await assert.rejects(
        Promise.resolve().then(() => factory(credentials(undefined), link)),
        (error: Error & { code?: string }) =>
          error.code === 'E_LINK_CREDENTIALS' &&
          /Secret strait-multicluster\/cluster-credentials-east has no "kubeconfig" key/.test(error.message),
      );
    } finally {
      await local.close();
    }
  });

  it('refuses a Kubernetes target when no Kubernetes client was given', async () => {
    const local = await openLocalStore();
    try {
      const secret = credentials(kubeconfig(jwt({ 'kubernetes.io': { namespace: 'strait-multicluster' } })));
      await assert.rejects(
        Promise.resolve().then(() => linkRemoteStores({ local, log: () => {} })(secret, link)),
        (error: Error & { code?: string; hint?: string }) =>
          error.code === 'E_LINK_CREDENTIALS' && /service-mirror\.ts/.test(error.hint ?? ''),
      );
    } finally {
      await local.close();
    }
  });
});
