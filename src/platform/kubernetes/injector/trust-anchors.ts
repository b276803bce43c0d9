import { StraitError } from '../../../core/errors.ts';
import type { KubeClient } from '../client.ts';
import { getObject } from '../manifests/installed.ts';
import { TRUST_ROOTS_CONFIGMAP, TRUST_ROOTS_KEY } from '../manifests/settings.ts';

/** The control plane's trust anchors could not be read, so no pod can be given them. */
export class TrustAnchorsUnavailableError extends StraitError {
  constructor(message: string, cause?: unknown) {
    super('E_INJECT_TRUST_ANCHORS', message, {
      hint: 'is the control plane installed? strait check shows what is missing',
      cause,
    });
    this.name = 'TrustAnchorsUnavailableError';
  }
}

/**
 * Reads the trust anchors (PEM) from the control-plane namespace's
 * `strait-identity-trust-roots` ConfigMap. Called for each pod it injects, so
 * pods created after `strait upgrade` changes the bundle get the new one.
 */
export async function readTrustAnchors(client: KubeClient, namespace: string): Promise<string> {
  const where = `ConfigMap ${namespace}/${TRUST_ROOTS_CONFIGMAP}`;
  let roots: { data?: Record<string, string> } | undefined;
  try {
    roots = await getObject(
      client,
      `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${TRUST_ROOTS_CONFIGMAP}`,
    );
  } catch (error) {
    throw new TrustAnchorsUnavailableError(`cannot read ${where}: ${(error as Error).message}`, error);
  }
  if (!roots) throw new TrustAnchorsUnavailableError(`${where} does not exist`);
  const pem = roots.data?.[TRUST_ROOTS_KEY];
  if (!pem?.includes('-----BEGIN CERTIFICATE-----')) {
    throw new TrustAnchorsUnavailableError(`${where} has no PEM certificate under ${TRUST_ROOTS_KEY}`);
  }
  return pem;
}
