import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { requestServiceAccountToken } from '../../../src/platform/kubernetes/tokens.ts';
import type { Pod } from './node.ts';
import { fieldOf } from './pod-environment.ts';

interface KeyToPath {
  key: string;
  path: string;
}

interface ConfigMapSource {
  name: string;
  items?: KeyToPath[];
  optional?: boolean;
}

interface ProjectedSource {
  serviceAccountToken?: { audience?: string; expirationSeconds?: number; path: string };
  configMap?: ConfigMapSource;
  downwardAPI?: { items: { path: string; fieldRef?: { fieldPath: string } }[] };
}

/** The volume sources the node can fill. */
export interface Volume {
  name: string;
  emptyDir?: object;
  configMap?: ConfigMapSource;
  projected?: { sources: ProjectedSource[] };
}

/**
 * Fills a pod's volumes under `dir/<volume>` as a kubelet would: projected
 * service-account tokens by TokenRequest (audience and lifetime as asked),
 * ConfigMaps as one file per key (or per listed item), downward-API fields,
 * emptyDirs empty; not the API-access volume. Returns each volume's directory by name. A source the node
 * cannot fill, or a missing ConfigMap that is not optional, fails the pod
 * with its name.
 */
export async function fillVolumes(
  client: KubeClient,
  pod: Pod,
  ip: string,
  dir: string,
): Promise<Map<string, string>> {
  const { namespace = '', name } = pod.metadata;
  const spec = pod.spec as { serviceAccountName?: string; volumes?: Volume[] } | undefined;
  const fail = (volume: Volume, reason: string) =>
    new Error(`pod ${namespace}/${name}: volume ${volume.name}: ${reason}`);
  const write = async (root: string, path: string, content: string) => {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  };
  const configMap = async (volume: Volume, root: string, source: ConfigMapSource) => {
    const response = await client.request({
      method: 'GET',
      path: `/api/v1/namespaces/${namespace}/configmaps/${source.name}`,
    });
    if (response.status === 404 && source.optional) return;
    if (response.status !== 200) throw fail(volume, `ConfigMap ${source.name}: HTTP ${response.status}`);
    const data = (response.body as { data?: Record<string, string> }).data ?? {};
    const items = source.items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const item of items) await write(root, item.path, data[item.key] ?? '');
  };
  const filled = new Map<string, string>();
  for (const volume of spec?.volumes ?? []) {
    // ServiceAccount admission adds this one for in-cluster API access, which no process here
    // uses (they reach the API by kubeconfig); its kube-root-ca.crt ConfigMap is not published.
    if (volume.name.startsWith('kube-api-access-')) continue;
    const root = join(dir, volume.name);
    await mkdir(root, { recursive: true });
    if (volume.configMap) await configMap(volume, root, volume.configMap);
    else if (volume.projected) {
      for (const source of volume.projected.sources) {
        if (source.serviceAccountToken) {
          const token = source.serviceAccountToken;
          const issued = await requestServiceAccountToken(
            client,
            namespace,
            spec?.serviceAccountName ?? 'default',
            {
              ...(token.audience ? { audiences: [token.audience] } : {}),
              ...(token.expirationSeconds ? { expirationSeconds: token.expirationSeconds } : {}),
            },
          );
          await write(root, token.path, issued.token);
        } else if (source.configMap) await configMap(volume, root, source.configMap);
        else if (source.downwardAPI) {
          for (const item of source.downwardAPI.items) {
            if (!item.fieldRef) throw fail(volume, `downward API item ${item.path} is not a fieldRef`);
            await write(root, item.path, fieldOf(pod, ip, item.fieldRef.fieldPath));
          }
        } else throw fail(volume, 'a projected source the node cannot fill');
      }
    } else if (!volume.emptyDir) throw fail(volume, 'a source the node cannot fill');
    filled.set(volume.name, root);
  }
  return filled;
}
