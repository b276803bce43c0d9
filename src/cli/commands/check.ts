import { X509Certificate } from 'node:crypto';
import { describeError } from '../../core/errors.ts';
import { KubeClient } from '../../platform/kubernetes/client.ts';
import { customResourceDefinitions } from '../../platform/kubernetes/crds.ts';
import {
  checkInstallIdentity,
  type InstallIdentity,
} from '../../platform/kubernetes/manifests/identity-material.ts';
import { injectorWebhookName } from '../../platform/kubernetes/manifests/install.ts';
import { getObject, readInstalledMaterial } from '../../platform/kubernetes/manifests/installed.ts';
import { COMPONENTS, type ComponentName } from '../../platform/kubernetes/manifests/settings.ts';
import { loadKubeConfig } from '../../platform/kubernetes/open.ts';
import { type Command, optionalString } from '../command.ts';
import { type CheckResult, formatChecks, formatDocument, outputFormat, outputOption } from '../output.ts';

const DAY_MS = 86_400_000;
/** Certificates expiring sooner than this are reported with a warning. */
export const EXPIRY_WARNING_MS = 60 * DAY_MS;

interface Category {
  name: string;
  results: CheckResult[];
}

const pass = (description: string): CheckResult => ({ description, ok: true });
const fail = (description: string, error: string, hint?: string): CheckResult => ({
  description,
  ok: false,
  error,
  ...(hint ? { hint } : {}),
});

/** Runs every check against the cluster; later categories are skipped once the API is unreachable. */
export async function runChecks(
  options: { kubeconfig?: string | undefined; context?: string | undefined; namespace: string },
  now = new Date(),
): Promise<Category[]> {
  const api: Category = { name: 'kubernetes-api', results: [] };
  const categories = [api];
  let client: KubeClient;
  try {
    client = new KubeClient(loadKubeConfig({ kubeconfig: options.kubeconfig, context: options.context }));
    api.results.push(pass('can initialize the client'));
  } catch (error) {
    api.results.push(
      fail('can initialize the client', describeError(error), 'pass --kubeconfig and --context'),
    );
    return categories;
  }
  try {
    const version = await getObject<{ gitVersion?: string }>(client, '/version');
    api.results.push(pass(`can query the Kubernetes API (${version?.gitVersion ?? 'unknown version'})`));
  } catch (error) {
    api.results.push(
      fail('can query the Kubernetes API', describeError(error), 'is the cluster up and reachable?'),
    );
    return categories;
  }

  const ns = options.namespace;
  const install = 'run `strait install | kubectl apply -f -`';
  const config: Category = { name: 'strait-config', results: [] };
  categories.push(config);
  const namespace = await getObject(client, `/api/v1/namespaces/${ns}`);
  config.results.push(
    namespace
      ? pass('control plane Namespace exists')
      : fail('control plane Namespace exists', `namespace ${ns} not found`, install),
  );
  const missing: string[] = [];
  for (const crd of customResourceDefinitions()) {
    const found = await getObject(
      client,
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
    );
    if (!found) missing.push(crd.metadata.name);
  }
  config.results.push(
    missing.length === 0
      ? pass('control plane CustomResourceDefinitions exist')
      : fail('control plane CustomResourceDefinitions exist', `missing: ${missing.join(', ')}`, install),
  );
  const webhook = await getObject<{ webhooks?: { clientConfig?: { caBundle?: string } }[] }>(
    client,
    `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${injectorWebhookName(ns)}`,
  );
  config.results.push(
    webhook?.webhooks?.[0]?.clientConfig?.caBundle
      ? pass('proxy injector webhook is configured')
      : fail(
          'proxy injector webhook is configured',
          `${injectorWebhookName(ns)} not found or without caBundle`,
          install,
        ),
  );
  if (!namespace) return categories;
  const material = await readInstalledMaterial(client, ns);
  const caBundle = webhook?.webhooks?.[0]?.clientConfig?.caBundle;
  if (caBundle) config.results.push(injectorCertificateCheck(material.injectorTls, caBundle, ns, now));

  const identity: Category = { name: 'strait-identity', results: [] };
  categories.push(identity);
  let checked: InstallIdentity | undefined;
  if (!material.trustAnchorsPem || !material.issuer) {
    identity.results.push(
      fail(
        'trust roots and issuer are present',
        'the trust roots ConfigMap or the issuer Secret is missing',
        install,
      ),
    );
  } else {
    try {
      checked = checkInstallIdentity(
        { pem: material.trustAnchorsPem, source: `configmap ${ns}/strait-identity-trust-roots` },
        { pem: material.issuer.certPem, source: `secret ${ns}/strait-identity-issuer tls.crt` },
        { pem: material.issuer.keyPem, source: `secret ${ns}/strait-identity-issuer tls.key` },
        now,
      );
      identity.results.push(
        pass('issuer is a valid CA, its key matches, and it chains to the trust anchors'),
      );
    } catch (error) {
      identity.results.push(
        fail(
          'issuer is a valid CA, its key matches, and it chains to the trust anchors',
          describeError(error),
          'rotate with `strait upgrade --identity-issuer-certificate-file … --identity-issuer-key-file …`',
        ),
      );
    }
  }
  if (checked) {
    identity.results.push(expiry('issuer certificate is not expiring soon', checked.issuerExpiry, now));
    const latestAnchorExpiry = new Date(Math.max(...checked.anchors.map((a) => a.notAfter.getTime())));
    identity.results.push(expiry('trust anchors are not expiring soon', latestAnchorExpiry, now));
  }

  const plane: Category = { name: 'strait-control-plane', results: [] };
  categories.push(plane);
  for (const component of Object.keys(COMPONENTS) as ComponentName[]) {
    const { name } = COMPONENTS[component];
    const deployment = await getObject<{ spec?: { replicas?: number }; status?: { readyReplicas?: number } }>(
      client,
      `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
    );
    const want = deployment?.spec?.replicas ?? 1;
    const ready = deployment?.status?.readyReplicas ?? 0;
    plane.results.push(
      !deployment
        ? fail(`${name} is running`, `deployment ${ns}/${name} not found`, install)
        : ready >= want
          ? pass(`${name} is running (${ready}/${want} ready)`)
          : fail(
              `${name} is running`,
              `${ready}/${want} replicas ready`,
              `kubectl -n ${ns} describe deploy ${name}; kubectl -n ${ns} logs deploy/${name}`,
            ),
    );
  }
  return categories;
}

/** The injector's serving certificate is signed by the CA the API server is told to trust, and valid. */
function injectorCertificateCheck(
  tls: { caPem: string; certPem: string } | undefined,
  caBundle: string,
  ns: string,
  now: Date,
): CheckResult {
  const description = "proxy injector's certificate matches the webhook's caBundle and is valid";
  const reinstall =
    'rerun `strait upgrade | kubectl apply -f -` to write the certificate and the webhook together';
  if (!tls) return fail(description, `secret ${ns}/strait-proxy-injector-tls is missing`, reinstall);
  try {
    const ca = new X509Certificate(Buffer.from(caBundle, 'base64'));
    const cert = new X509Certificate(tls.certPem);
    if (!cert.verify(ca.publicKey)) {
      return fail(description, "the certificate is not signed by the webhook's caBundle", reinstall);
    }
    if (new Date(cert.validTo).getTime() < now.getTime()) {
      return fail(description, `the certificate expired ${new Date(cert.validTo).toISOString()}`, reinstall);
    }
    return pass(description);
  } catch (error) {
    return fail(description, describeError(error), reinstall);
  }
}

function expiry(description: string, notAfter: Date, now: Date): CheckResult {
  const left = notAfter.getTime() - now.getTime();
  if (left >= EXPIRY_WARNING_MS) return pass(description);
  return {
    description,
    ok: false,
    warning: true,
    error: `expires ${notAfter.toISOString()} (in ${Math.max(0, Math.floor(left / DAY_MS))} days)`,
    hint: 'rotate with `strait upgrade` (new anchors are appended to the bundle first)',
  };
}

export const checkCommand: Command = {
  name: 'check',
  summary: 'Check that Strait is installed and healthy on a Kubernetes cluster',
  options: {
    'control-plane-namespace': { type: 'string', valueName: 'NAME', description: 'default strait' },
    ...outputOption,
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output);
    const categories = await runChecks({
      kubeconfig: optionalString(ctx.values, 'kubeconfig'),
      context: optionalString(ctx.values, 'context'),
      namespace: optionalString(ctx.values, 'control-plane-namespace') ?? 'strait',
    });
    const failed = categories.some((c) => c.results.some((r) => !r.ok && !r.warning));
    if (format === 'table') {
      ctx.stdout.write(categories.map((c) => formatChecks(c.name, c.results)).join('\n'));
      ctx.stdout.write(`\nStatus check results are ${failed ? '×' : '√'}\n`);
    } else {
      ctx.stdout.write(formatDocument({ success: !failed, categories }, format));
    }
    return failed ? 1 : 0;
  },
};
