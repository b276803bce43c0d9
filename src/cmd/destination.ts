// The destination service on Kubernetes: resolves Services to Pods from the
// Endpoints and EndpointSlices kube-controller-manager writes, serving with a
// certificate it gets from the identity service with its own projected token.
import { startDestinationService } from '../control-plane/destination/start.ts';
import { runStoreBackedService } from '../platform/kubernetes/control-plane/index.ts';

await runStoreBackedService('destination', ({ store, tls, host, port, settings, onError }) =>
  startDestinationService({
    store,
    tls,
    host,
    port,
    clusterDomain: settings.clusterDomain,
    trustDomain: settings.trustDomain,
    controlPlaneNamespace: settings.controlPlaneNamespace,
    onError,
  }),
);
