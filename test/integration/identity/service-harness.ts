import {
  type CertifyEvent,
  type IdentityServiceHandle,
  startIdentityService,
} from '../../../src/control-plane/identity/index.ts';
import { type CaPem, createAnchor, createIssuer } from '../../../src/pki/index.ts';
import {
  createWorkloadTokenKeys,
  WorkloadTokenIssuer,
  WorkloadTokenValidator,
} from '../../../src/platform/local/workload-token.ts';
import type { IdentityEndpoint } from '../../../src/proxy/identity/index.ts';

export const webIdentity = 'web.shop.serviceaccount.identity.strait.cluster.local';
export const dbIdentity = 'db.shop.serviceaccount.identity.strait.cluster.local';

/** A mesh's PKI and token keys, and an identity service on a loopback port. */
export interface Mesh {
  anchor: CaPem;
  issuer: CaPem;
  tokens: WorkloadTokenIssuer;
  service: IdentityServiceHandle;
  events: CertifyEvent[];
  endpoint: IdentityEndpoint;
  token(identity?: string): Uint8Array;
}

export async function startMesh(
  options: { issuerValidForMs?: number; leafValidityMs?: number; port?: number } = {},
): Promise<Mesh> {
  const anchor = createAnchor();
  const issuer = createIssuer({
    anchor,
    ...(options.issuerValidForMs ? { validForMs: options.issuerValidForMs } : {}),
  });
  const keys = createWorkloadTokenKeys();
  const tokens = new WorkloadTokenIssuer(keys.privateKeyPem);
  const events: CertifyEvent[] = [];
  const service = await startIdentityService({
    issuer,
    trustBundle: anchor.certPem,
    validator: new WorkloadTokenValidator({ publicKeys: [keys.publicKeyPem] }),
    port: options.port ?? 0,
    ...(options.leafValidityMs ? { leafValidityMs: options.leafValidityMs } : {}),
    onEvent: (event) => events.push(event),
  });
  return {
    anchor,
    issuer,
    tokens,
    service,
    events,
    endpoint: {
      address: `127.0.0.1:${service.port}`,
      serverIdentity: service.identity,
      trustBundlePem: anchor.certPem,
    },
    token(identity = webIdentity) {
      const namespace = identity.split('.')[1] as string;
      return new TextEncoder().encode(
        tokens.issue({ identity, namespace, workload: `${identity.split('.')[0]}-1` }),
      );
    },
  };
}
