import { StraitError, UsageError } from '../../core/errors.ts';
import { buildBundle } from '../../pki/index.ts';
import { KubeClient } from '../../platform/kubernetes/client.ts';
import { formatManifest } from '../../platform/kubernetes/manifests/format.ts';
import { checkInstallIdentity } from '../../platform/kubernetes/manifests/identity-material.ts';
import { renderInstall } from '../../platform/kubernetes/manifests/install.ts';
import { readInstalledMaterial } from '../../platform/kubernetes/manifests/installed.ts';
import { loadKubeConfig } from '../../platform/kubernetes/open.ts';
import { type Command, optionalString } from '../command.ts';
import { outputFormat } from '../output.ts';
import { readInput } from './identity-files.ts';
import { injectorTls, meshOptions, meshSettingsFrom } from './install.ts';
import { straitVersion } from './version.ts';

export const upgradeCommand: Command = {
  name: 'upgrade',
  summary: 'Print the control plane again, rotating trust anchors or the issuer',
  description:
    'Read the installed trust roots, issuer and injector certificate from the cluster and print the\n' +
    'control plane for `kubectl apply -f -`. Anchors passed with --identity-trust-anchors-file are\n' +
    'appended to the installed bundle (rotate anchors first, let proxies pick up the bundle, then\n' +
    'the issuer); a new issuer must chain to an anchor of the resulting bundle.',
  options: {
    'identity-trust-anchors-file': {
      type: 'string',
      valueName: 'FILE',
      description: 'PEM anchors to add to the installed bundle',
    },
    'identity-issuer-certificate-file': {
      type: 'string',
      valueName: 'FILE',
      description: 'PEM new issuer certificate',
    },
    'identity-issuer-key-file': {
      type: 'string',
      valueName: 'FILE',
      description: 'PEM new issuer private key',
    },
    ...meshOptions,
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output ?? 'yaml');
    if (format === 'table') throw new UsageError('-o table is not supported', 'use yaml or json');
    const settings = meshSettingsFrom(ctx.values);
    const certFile = optionalString(ctx.values, 'identity-issuer-certificate-file');
    const keyFile = optionalString(ctx.values, 'identity-issuer-key-file');
    if ((certFile === undefined) !== (keyFile === undefined)) {
      throw new UsageError('--identity-issuer-certificate-file and --identity-issuer-key-file go together');
    }
    const client = new KubeClient(
      loadKubeConfig({
        kubeconfig: optionalString(ctx.values, 'kubeconfig'),
        context: optionalString(ctx.values, 'context'),
      }),
    );
    const ns = settings.controlPlaneNamespace;
    const installed = await readInstalledMaterial(client, ns);
    if (!installed.trustAnchorsPem || !installed.issuer) {
      throw new StraitError(
        'E_NOT_INSTALLED',
        `no Strait control plane in namespace ${ns} (trust roots or issuer missing)`,
        {
          hint: 'install it first: strait install | kubectl apply -f -',
        },
      );
    }
    const anchorsFile = optionalString(ctx.values, 'identity-trust-anchors-file');
    const bundle = buildBundle([
      { pem: installed.trustAnchorsPem, source: `configmap ${ns}/strait-identity-trust-roots` },
      ...(anchorsFile
        ? [{ pem: readInput(anchorsFile, '--identity-trust-anchors-file'), source: anchorsFile }]
        : []),
    ]);
    const issuer =
      certFile && keyFile
        ? {
            cert: { pem: readInput(certFile, '--identity-issuer-certificate-file'), source: certFile },
            key: { pem: readInput(keyFile, '--identity-issuer-key-file'), source: keyFile },
          }
        : {
            cert: { pem: installed.issuer.certPem, source: `secret ${ns}/strait-identity-issuer tls.crt` },
            key: { pem: installed.issuer.keyPem, source: `secret ${ns}/strait-identity-issuer tls.key` },
          };
    const identity = checkInstallIdentity(
      {
        pem: bundle.pem,
        source: anchorsFile ? `the installed bundle and ${anchorsFile}` : 'the installed bundle',
      },
      issuer.cert,
      issuer.key,
    );
    const resources = renderInstall({
      settings,
      version: straitVersion,
      trustAnchorsPem: identity.trustAnchorsPem,
      issuer: identity.issuer,
      injectorTls: installed.injectorTls ?? (await injectorTls(settings)),
    });
    ctx.stdout.write(formatManifest(resources, format));
    ctx.stderr.write(
      `trust bundle: ${identity.anchors.length} anchor(s); issuer ${identity.issuerCertificate.subject}, ` +
        `valid until ${identity.issuerExpiry.toISOString()}\n`,
    );
    return 0;
  },
};
