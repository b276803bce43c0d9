// The identity service on Kubernetes: signs workload certificates with the
// issuer mounted at STRAIT_IDENTITY_ISSUER_DIR for callers whose projected
// service-account token the API server accepts (TokenReview, audience
// identity.strait.io). Issuer and trust anchors are reloaded when `strait
// upgrade` rotates the Secret or the ConfigMap.
import { startIdentityService } from '../control-plane/identity/index.ts';
import { describeError } from '../core/errors.ts';
import {
  clusterClient,
  logLine,
  readControlPlaneEnv,
  readIssuerDir,
  requireEnv,
  runComponent,
  watchIssuerDir,
  watchTrustAnchors,
} from '../platform/kubernetes/control-plane/index.ts';
import { TokenReviewValidator } from '../platform/kubernetes/token-review-validator.ts';

await runComponent('identity', async () => {
  const env = readControlPlaneEnv();
  const issuerDir = requireEnv(process.env, 'STRAIT_IDENTITY_ISSUER_DIR');
  const issuer = await readIssuerDir(issuerDir);
  const { settings } = env;
  const service = await startIdentityService({
    issuer,
    trustBundle: env.trustAnchorsPem,
    validator: new TokenReviewValidator({
      client: clusterClient(env.kube),
      controlPlaneNamespace: settings.controlPlaneNamespace,
      trustDomain: settings.trustDomain,
    }),
    host: env.host,
    port: env.port,
    trustDomain: settings.trustDomain,
    controlPlaneNamespace: settings.controlPlaneNamespace,
    onEvent(event) {
      if (event.type === 'issued') logLine(`issued ${event.identity} until ${event.notAfter.toISOString()}`);
      else logLine(`refused ${event.identity}: ${event.message}`);
    },
  });
  const pollMs = Number(process.env.STRAIT_IDENTITY_ISSUER_POLL_MS) || 10_000;
  const watch = watchIssuerDir(
    issuerDir,
    issuer,
    (next) => {
      service.setIssuer(next);
      logLine(`issuer reloaded from ${issuerDir}`);
    },
    {
      intervalMs: pollMs,
      onError: (error) => logLine(`issuer in ${issuerDir} not reloaded: ${describeError(error)}`),
    },
  );
  const anchors = watchTrustAnchors(
    env.trustAnchorsFile,
    env.trustAnchorsPem,
    (pem) => {
      service.setTrustBundle(pem);
      logLine(`trust anchors reloaded from ${env.trustAnchorsFile}`);
    },
    {
      intervalMs: pollMs,
      onError: (error) => logLine(`trust anchors not reloaded: ${describeError(error)}`),
    },
  );
  logLine(`identity service ${service.identity} serving on ${env.host}:${service.port}`);
  return async () => {
    watch.stop();
    anchors.stop();
    await service.close();
  };
});
