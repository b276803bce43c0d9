// The policy service on Kubernetes: answers proxies' WatchPort from Pods,
// Servers, AuthorizationPolicies and authentications in the cluster, serving
// with a certificate it gets from the identity service with its own projected token.
import { startPolicyService } from '../control-plane/policy/start.ts';
import { describeError } from '../core/errors.ts';
import {
  clusterClient,
  clusterStore,
  logLine,
  readControlPlaneEnv,
  runComponent,
  startServingIdentity,
  watchTrustAnchors,
} from '../platform/kubernetes/control-plane/index.ts';

await runComponent('policy', async () => {
  const env = readControlPlaneEnv();
  const { settings } = env;
  const store = clusterStore(clusterClient(env.kube), {
    onUnservedKind: (kind) =>
      logLine(`the cluster does not serve ${kind.kind} (${kind.apiVersion}): following none`),
  });
  const serving = startServingIdentity({
    settings,
    component: 'policy',
    trustAnchorsPem: env.trustAnchorsPem,
    ...(process.env.STRAIT_IDENTITY_ADDR ? { identityAddress: process.env.STRAIT_IDENTITY_ADDR } : {}),
    ...(process.env.STRAIT_IDENTITY_TOKEN_FILE ? { tokenFile: process.env.STRAIT_IDENTITY_TOKEN_FILE } : {}),
    log: logLine,
  });
  const service = await startPolicyService({
    store,
    tls: await serving.first(),
    host: env.host,
    port: env.port,
    trustDomain: settings.trustDomain,
    controlPlaneNamespace: settings.controlPlaneNamespace,
    onError: (error) => logLine(`policy: ${describeError(error)}`),
  });
  serving.onRenewed((tls) => service.rpc.setTls(tls));
  const anchors = watchTrustAnchors(
    env.trustAnchorsFile,
    env.trustAnchorsPem,
    (pem) => {
      serving.setTrustBundle(pem);
      logLine(`trust anchors reloaded from ${env.trustAnchorsFile}`);
    },
    { onError: (error) => logLine(`trust anchors not reloaded: ${describeError(error)}`) },
  );
  logLine(`policy service ${serving.identity} serving on ${env.host}:${service.port}`);
  return async () => {
    anchors.stop();
    serving.close();
    await service.close();
  };
});
