import { stringify } from 'yaml';

/** One cluster with an admin client certificate; becomes a context of the same name. */
export interface KubeconfigEntry {
  name: string;
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** A kubeconfig with one context per entry (named after the cluster); the first is current. */
export function formatKubeconfig(entries: KubeconfigEntry[]): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: entries.map((e) => ({
      name: e.name,
      cluster: { server: e.server, 'certificate-authority-data': base64(e.caPem) },
    })),
    users: entries.map((e) => ({
      name: `${e.name}-admin`,
      user: { 'client-certificate-data': base64(e.clientCertPem), 'client-key-data': base64(e.clientKeyPem) },
    })),
    contexts: entries.map((e) => ({ name: e.name, context: { cluster: e.name, user: `${e.name}-admin` } })),
    'current-context': entries[0]?.name ?? '',
  });
}
