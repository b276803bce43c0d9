// The destination service on Kubernetes: resolves Services to Pods from the
// Endpoints and EndpointSlices kube-controller-manager writes, serving with a
// certificate it gets from the identity service with its own projected token.
import { startDestinationService } from '../control-plane/destination/start.ts';
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

await runComponent('destination', async () => {
  const env = readControlPlaneEnv();
  const { settings } = env;
  const store = clusterStore(clusterClient(env.kube), {
    onUnservedKind: (kind) =>
      logLine(`the cluster does not serve ${kind.kind} (${kind.apiVersion}): following none`),
  });
  const serving = startServingIdentity({
    settings,
    component: 'destination',
    trustAnchorsPem: env.trustAnchorsPem,
    ...(process.env.STRAIT_IDENTITY_ADDR ? { identityAddress: process.env.STRAIT_IDENTITY_ADDR } : {}),
    ...(process.env.STRAIT_IDENTITY_TOKEN_FILE ? { tokenFile: process.env.STRAIT_IDENTITY_TOKEN_FILE } : {}),
    log: logLine,
  });
  const service = await startDestinationService({
    store,
    tls: await serving.first(),
    host: env.host,
    port: env.port,
    clusterDomain: settings.clusterDomain,
    trustDomain: settings.trustDomain,
    controlPlaneNamespace: settings.controlPlaneNamespace,
    onError: (error) => logLine(`destination: ${describeError(error)}`),
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
  logLine(`destination service ${serving.identity} serving on ${env.host}:${service.port}`);
  return async () => {
    anchors.stop();
    serving.close();
    await service.close();
  };
});
