import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { StraitError } from '../../../core/errors.ts';
import { type ApiStore, createApiStore } from './client.ts';

/** The parts of a kubeconfig that reach one cluster with a bearer token. */
export interface ApiCredential {
  clusterName: string;
  server: string;
  caPem: string;
  token: string;
  /** Default namespace of the context, when any. */
  namespace?: string;
}

/** A kubeconfig document (YAML) with one cluster, one user and one context named after the cluster. */
export function formatKubeconfig(credential: ApiCredential): string {
  const name = credential.clusterName;
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: credential.server,
          'certificate-authority-data': Buffer.from(credential.caPem).toString('base64'),
        },
      },
    ],
    users: [{ name, user: { token: credential.token } }],
    contexts: [
      {
        name,
        context: {
          cluster: name,
          user: name,
          ...(credential.namespace ? { namespace: credential.namespace } : {}),
        },
      },
    ],
    'current-context': name,
  });
}

interface KubeconfigDocument {
  clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
  users?: { name: string; user: { token?: string } }[];
  contexts?: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  'current-context'?: string;
}

/** Reads a token-based kubeconfig; `source` names it in errors. */
export function parseKubeconfig(text: string, source: string, context?: string): ApiCredential {
  const fail = (reason: string): never => {
    throw new StraitError('E_KUBECONFIG', `${source}: ${reason}`);
  };
  let document: KubeconfigDocument;
  try {
    document = parseYaml(text) as KubeconfigDocument;
  } catch (error) {
    return fail(`not YAML: ${(error as Error).message}`);
  }
  if (typeof document !== 'object' || document === null) return fail('not a kubeconfig mapping');
  const contextName = context ?? document['current-context'] ?? fail('no current-context');
  const entry = document.contexts?.find((c) => c.name === contextName) ?? fail(`no context "${contextName}"`);
  const cluster =
    document.clusters?.find((c) => c.name === entry.context?.cluster)?.cluster ??
    fail(`context "${contextName}" names a missing cluster`);
  const user =
    document.users?.find((u) => u.name === entry.context?.user)?.user ??
    fail(`context "${contextName}" names a missing user`);
  if (!cluster.server) fail(`cluster of context "${contextName}" has no server`);
  if (!cluster['certificate-authority-data'])
    fail(`cluster of context "${contextName}" has no certificate-authority-data`);
  if (!user.token) fail(`user of context "${contextName}" has no token`);
  return {
    clusterName: contextName,
    server: cluster.server,
    caPem: Buffer.from(cluster['certificate-authority-data'] as string, 'base64').toString('utf8'),
    token: user.token as string,
    ...(entry.context.namespace ? { namespace: entry.context.namespace } : {}),
  };
}

/** A store for the cluster a token-based kubeconfig points at (a link's credential, for one). */
export function storeFromKubeconfig(text: string, source = 'kubeconfig', context?: string): ApiStore {
  const credential = parseKubeconfig(text, source, context);
  return createApiStore({ server: credential.server, ca: credential.caPem, token: credential.token });
}
