import { UsageError } from '../../core/errors.ts';
import { createAnchor, createIssuer } from '../../pki/index.ts';
import { formatManifest } from '../../platform/kubernetes/manifests/format.ts';
import {
  checkInstallIdentity,
  type InstallIdentity,
} from '../../platform/kubernetes/manifests/identity-material.ts';
import { renderInstall } from '../../platform/kubernetes/manifests/install.ts';
import {
  COMPONENTS,
  defaultMeshSettings,
  type MeshSettings,
} from '../../platform/kubernetes/manifests/settings.ts';
import { createApiCertificates } from '../../platform/local/api/serving-certificate.ts';
import { type Command, type OptionSpec, type OptionValues, optionalString } from '../command.ts';
import { outputFormat } from '../output.ts';
import { readInput } from './identity-files.ts';
import { straitVersion } from './version.ts';

/** Flags shared by `install` and `upgrade` that shape the mesh. */
export const meshOptions: Record<string, OptionSpec> = {
  'identity-trust-domain': {
    type: 'string',
    valueName: 'DOMAIN',
    description: 'trust domain of identities (default cluster.local)',
  },
  'cluster-domain': {
    type: 'string',
    valueName: 'DOMAIN',
    description: "the cluster's DNS domain (default cluster.local)",
  },
  'control-plane-namespace': {
    type: 'string',
    valueName: 'NAME',
    description: 'namespace of the control plane (default strait)',
  },
  image: { type: 'string', valueName: 'IMAGE', description: 'the Strait image every component runs' },
  'image-pull-policy': { type: 'string', valueName: 'POLICY', description: 'Always, IfNotPresent or Never' },
  output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'yaml (default) or json' },
};

const identityOptions: Record<string, OptionSpec> = {
  'identity-trust-anchors-file': {
    type: 'string',
    valueName: 'FILE',
    description: 'PEM trust anchors (one or more)',
  },
  'identity-issuer-certificate-file': {
    type: 'string',
    valueName: 'FILE',
    description: 'PEM issuer certificate, signed by an anchor',
  },
  'identity-issuer-key-file': { type: 'string', valueName: 'FILE', description: 'PEM issuer private key' },
};

/** Mesh settings from the flags; malformed values are usage errors. */
export function meshSettingsFrom(values: OptionValues): MeshSettings {
  const settings = defaultMeshSettings();
  const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  const name = (flag: string, pattern: RegExp, what: string) => {
    const value = optionalString(values, flag);
    if (value !== undefined && !pattern.test(value))
      throw new UsageError(`--${flag} "${value}" is not ${what}`);
    return value;
  };
  settings.trustDomain = name('identity-trust-domain', dns, 'a DNS name') ?? settings.trustDomain;
  settings.clusterDomain = name('cluster-domain', dns, 'a DNS name') ?? settings.clusterDomain;
  settings.controlPlaneNamespace =
    name('control-plane-namespace', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a namespace name') ??
    settings.controlPlaneNamespace;
  settings.image = name('image', /^\S+$/, 'an image reference') ?? settings.image;
  const pull = optionalString(values, 'image-pull-policy');
  if (pull !== undefined) {
    if (pull !== 'Always' && pull !== 'IfNotPresent' && pull !== 'Never') {
      throw new UsageError(`--image-pull-policy "${pull}" is not Always, IfNotPresent or Never`);
    }
    settings.imagePullPolicy = pull;
  }
  return settings;
}

/** The anchors and issuer from the three flags (all or none); without them, new ones. */
export function identityFrom(values: OptionValues): InstallIdentity & { generated: boolean } {
  const flags = Object.keys(identityOptions);
  const given = flags.filter((flag) => optionalString(values, flag) !== undefined);
  if (given.length > 0 && given.length < flags.length) {
    throw new UsageError(
      `${flags
        .filter((f) => !given.includes(f))
        .map((f) => `--${f}`)
        .join(', ')} missing`,
      'pass the trust anchors, the issuer certificate and its key together, or none of them',
    );
  }
  if (given.length === 0) {
    const anchor = createAnchor();
    const issuer = createIssuer({ anchor });
    return {
      ...checkInstallIdentity(
        { pem: anchor.certPem, source: 'generated anchor' },
        { pem: issuer.certPem, source: 'generated issuer' },
        { pem: issuer.keyPem, source: 'generated issuer key' },
      ),
      generated: true,
    };
  }
  const input = (flag: string) => {
    const path = optionalString(values, flag) as string;
    return { pem: readInput(path, `--${flag}`), source: path };
  };
  return {
    ...checkInstallIdentity(
      input('identity-trust-anchors-file'),
      input('identity-issuer-certificate-file'),
      input('identity-issuer-key-file'),
    ),
    generated: false,
  };
}

/** A fresh serving certificate for the injector's Service, and its CA (the webhook's caBundle). */
export async function injectorTls(settings: MeshSettings) {
  const service = `${COMPONENTS.injector.name}.${settings.controlPlaneNamespace}.svc`;
  const certs = await createApiCertificates({
    clusterName: 'proxy-injector',
    ipAddresses: [],
    dnsNames: [service, `${service}.${settings.clusterDomain}`],
  });
  return { caPem: certs.caCertPem, certPem: certs.certPem, keyPem: certs.keyPem };
}

export const installCommand: Command = {
  name: 'install',
  summary: 'Print the control plane for kubectl apply -f -',
  description:
    'Print the Strait control plane (namespace, CRDs, RBAC, identity, destination, policy, proxy\n' +
    'injector, trust roots and issuer) for `kubectl apply -f -`. Without the identity files a new\n' +
    'trust anchor and issuer are made; the anchor key is not kept, so pass your own to link clusters.',
  options: { ...identityOptions, ...meshOptions },
  async run(ctx) {
    const format = outputFormat(ctx.values.output ?? 'yaml');
    if (format === 'table') throw new UsageError('-o table is not supported', 'use yaml or json');
    const settings = meshSettingsFrom(ctx.values);
    const identity = identityFrom(ctx.values);
    if (identity.generated) {
      ctx.stderr.write(
        'A new trust anchor and issuer were made for this cluster; clusters linked together need one\n' +
          'anchor: see `strait identity anchor` and --identity-trust-anchors-file.\n',
      );
    }
    const resources = renderInstall({
      settings,
      version: straitVersion,
      trustAnchorsPem: identity.trustAnchorsPem,
      issuer: identity.issuer,
      injectorTls: await injectorTls(settings),
    });
    ctx.stdout.write(formatManifest(resources, format));
    return 0;
  },
};
