// The proxy injector's process: serves the mutating admission webhook over
// HTTPS with the certificate in STRAIT_INJECTOR_TLS_DIR (tls.crt, tls.key),
// reading namespaces' annotations and the control plane's trust anchors from
// the cluster it runs in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { describeError } from '../core/errors.ts';
import { KubeClient } from '../platform/kubernetes/client.ts';
import { readTrustAnchors, startInjectorWebhook } from '../platform/kubernetes/injector/index.ts';
import { defaultMeshSettings } from '../platform/kubernetes/manifests/settings.ts';

const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const env = process.env;

try {
  const tlsDir = env.STRAIT_INJECTOR_TLS_DIR ?? '/var/run/strait/injector/tls';
  const listen = /^(.*):(\d+)$/.exec(env.STRAIT_LISTEN_ADDR ?? '0.0.0.0:8443');
  if (!listen) throw new Error(`STRAIT_LISTEN_ADDR "${env.STRAIT_LISTEN_ADDR}" is not host:port`);
  const settings = defaultMeshSettings();
  settings.controlPlaneNamespace = env.STRAIT_CONTROL_PLANE_NAMESPACE ?? settings.controlPlaneNamespace;
  settings.trustDomain = env.STRAIT_TRUST_DOMAIN ?? settings.trustDomain;
  settings.clusterDomain = env.STRAIT_CLUSTER_DOMAIN ?? settings.clusterDomain;
  settings.image = env.STRAIT_IMAGE ?? settings.image;
  if (env.STRAIT_PROXY_UID) settings.proxyUid = Number(env.STRAIT_PROXY_UID);
  const config = new KubeConfig();
  if (env.KUBECONFIG) config.loadFromFile(env.KUBECONFIG);
  else config.loadFromCluster();
  const client = new KubeClient(config);
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const webhook = await startInjectorWebhook({
    host: listen[1] as string,
    port: Number(listen[2]),
    tls: {
      certPem: readFileSync(join(tlsDir, 'tls.crt'), 'utf8'),
      keyPem: readFileSync(join(tlsDir, 'tls.key'), 'utf8'),
    },
    inject: { settings, version },
    async namespaceAnnotations(name) {
      const response = await client.request({
        method: 'GET',
        path: `/api/v1/namespaces/${encodeURIComponent(name)}`,
      });
      if (response.status === 404) return undefined;
      if (response.status !== 200) throw new Error(`reading namespace ${name}: HTTP ${response.status}`);
      return (
        (response.body as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations ?? {}
      );
    },
    trustAnchors: () => readTrustAnchors(client, settings.controlPlaneNamespace),
    log,
  });
  log(`proxy injector serving on ${webhook.url}`);
  const stop = () => {
    log('stopping');
    void webhook.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
} catch (error) {
  log(`cannot start: ${describeError(error)}`);
  process.exit(1);
}
