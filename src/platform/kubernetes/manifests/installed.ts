import type { KubeClient } from '../client.ts';
import { INJECTOR_TLS_SECRET } from './install.ts';
import { ISSUER_SECRET, TRUST_ROOTS_CONFIGMAP, TRUST_ROOTS_KEY } from './settings.ts';

/** What an installed control plane keeps in its namespace, as PEM text (missing parts undefined). */
export interface InstalledMaterial {
  trustAnchorsPem: string | undefined;
  issuer: { certPem: string; keyPem: string } | undefined;
  injectorTls: { caPem: string; certPem: string; keyPem: string } | undefined;
}

type Data = Record<string, string> | undefined;

/** GETs an object; undefined on 404, a thrown error naming the path on any other failure. */
export async function getObject<T>(client: KubeClient, path: string): Promise<T | undefined> {
  const response = await client.request({ method: 'GET', path });
  if (response.status === 404) return undefined;
  if (response.status !== 200) {
    const message = (response.body as { message?: string } | undefined)?.message ?? `HTTP ${response.status}`;
    throw new Error(`GET ${path}: ${message}`);
  }
  return response.body as T;
}

const decode = (value: string | undefined) =>
  value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');

/** Reads the trust roots, the issuer and the injector's certificate from the control-plane namespace. */
export async function readInstalledMaterial(
  client: KubeClient,
  namespace: string,
): Promise<InstalledMaterial> {
  const base = `/api/v1/namespaces/${encodeURIComponent(namespace)}`;
  const roots = await getObject<{ data?: Data }>(client, `${base}/configmaps/${TRUST_ROOTS_CONFIGMAP}`);
  const issuer = await getObject<{ data?: Data }>(client, `${base}/secrets/${ISSUER_SECRET}`);
  const tls = await getObject<{ data?: Data }>(client, `${base}/secrets/${INJECTOR_TLS_SECRET}`);
  const issuerCert = decode(issuer?.data?.['tls.crt']);
  const issuerKey = decode(issuer?.data?.['tls.key']);
  const tlsCert = decode(tls?.data?.['tls.crt']);
  const tlsKey = decode(tls?.data?.['tls.key']);
  const tlsCa = decode(tls?.data?.['ca.crt']);
  return {
    trustAnchorsPem: roots?.data?.[TRUST_ROOTS_KEY],
    issuer: issuerCert && issuerKey ? { certPem: issuerCert, keyPem: issuerKey } : undefined,
    injectorTls: tlsCert && tlsKey && tlsCa ? { caPem: tlsCa, certPem: tlsCert, keyPem: tlsKey } : undefined,
  };
}
