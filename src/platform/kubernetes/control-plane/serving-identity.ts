import { describeError } from '../../../core/errors.ts';
import { IdentityClient, tokenFromFile, type WorkloadCredentials } from '../../../proxy/identity/index.ts';
import type { TlsMaterial } from '../../../rpc/server.ts';
import {
  type ComponentName,
  componentAddress,
  componentIdentity,
  type MeshSettings,
} from '../manifests/settings.ts';

/** Where destination and policy find their projected service-account token (audience identity.strait.io). */
export const SERVING_TOKEN_FILE = '/var/run/strait/identity/token/token';

export interface ServingIdentityOptions {
  settings: MeshSettings;
  /** The component whose ServiceAccount the certificate names. */
  component: ComponentName;
  trustAnchorsPem: string;
  /** host:port of the identity service; default its cluster Service address. */
  identityAddress?: string;
  /** Default SERVING_TOKEN_FILE. */
  tokenFile?: string;
  log: (line: string) => void;
}

/** A control-plane component's own certificate, kept fresh by the identity service. */
export interface ServingIdentity {
  readonly identity: string;
  /** Resolves with the first certificate (retrying until the identity service answers). */
  first(): Promise<TlsMaterial>;
  /** Calls `listener` with every certificate from now on (register after `first()` for renewals only). */
  onRenewed(listener: (tls: TlsMaterial) => void): void;
  /** Trusts a new bundle and gets a certificate checked against it now. */
  setTrustBundle(pem: string): void;
  close(): void;
}

/** What a gRPC server presents and trusts, from workload credentials. */
export function servingTls(credentials: WorkloadCredentials): TlsMaterial {
  return { cert: credentials.chainPem, key: credentials.keyPem, ca: credentials.trustBundlePem };
}

/**
 * Gets a component's serving certificate from the identity service the way a
 * proxy does: a key made here, a CSR, and the component's projected token as
 * the credential; renewed at 70% of its lifetime.
 */
export function startServingIdentity(options: ServingIdentityOptions): ServingIdentity {
  const { settings, component, log } = options;
  const identity = componentIdentity(settings, component);
  const client = new IdentityClient({
    address: options.identityAddress ?? componentAddress(settings, 'identity'),
    serverIdentity: componentIdentity(settings, 'identity'),
    trustBundlePem: options.trustAnchorsPem,
    identity,
    token: tokenFromFile(options.tokenFile ?? SERVING_TOKEN_FILE),
  });
  client.onError((error) => log(`serving certificate for ${identity}: ${describeError(error)} (retrying)`));
  client.onCredentials((credentials) =>
    log(`serving certificate for ${identity} valid until ${credentials.notAfter.toISOString()}`),
  );
  return {
    identity,
    first: async () => servingTls(await client.start()),
    onRenewed(listener) {
      client.onCredentials((credentials) => listener(servingTls(credentials)));
    },
    setTrustBundle(pem) {
      client.setTrustBundle(pem);
      client.refreshNow();
    },
    close: () => client.close(),
  };
}
