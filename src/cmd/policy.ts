// The policy service on Kubernetes: answers proxies' WatchPort from Pods,
// Servers, AuthorizationPolicies and authentications in the cluster, serving
// with a certificate it gets from the identity service with its own projected token.
import { startPolicyService } from '../control-plane/policy/start.ts';
import { runStoreBackedService } from '../platform/kubernetes/control-plane/index.ts';

await runStoreBackedService('policy', ({ store, tls, host, port, settings, onError }) =>
  startPolicyService({
    store,
    tls,
    host,
    port,
    trustDomain: settings.trustDomain,
    controlPlaneNamespace: settings.controlPlaneNamespace,
    onError,
  }),
);
