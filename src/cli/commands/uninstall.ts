import { UsageError } from '../../core/errors.ts';
import type { Resource } from '../../core/resource.ts';
import { formatManifest } from '../../platform/kubernetes/manifests/format.ts';
import { renderInstall } from '../../platform/kubernetes/manifests/install.ts';
import { type Command, optionalString } from '../command.ts';
import { outputFormat } from '../output.ts';
import { meshSettingsFrom } from './install.ts';
import { straitVersion } from './version.ts';

/**
 * Every object of the install, reduced to what `kubectl delete -f -` needs,
 * in reverse order: the webhook goes first, so no pod is sent to a missing injector.
 */
export function uninstallObjects(namespace: string): Resource[] {
  const settings = meshSettingsFrom({ 'control-plane-namespace': namespace });
  const none = { certPem: '', keyPem: '' };
  return renderInstall({
    settings,
    version: straitVersion,
    trustAnchorsPem: '',
    issuer: none,
    injectorTls: { ...none, caPem: '' },
  })
    .map((r) => ({
      apiVersion: r.apiVersion,
      kind: r.kind,
      metadata: {
        name: r.metadata.name,
        ...(r.metadata.namespace ? { namespace: r.metadata.namespace } : {}),
      },
    }))
    .reverse();
}

export const uninstallCommand: Command = {
  name: 'uninstall',
  summary: 'Print the control plane objects for kubectl delete -f -',
  description:
    'Print every object `strait install` creates, for `kubectl delete -f -`. Deleting the CRDs\n' +
    'deletes every Link, Server and policy in the cluster; remove the multicluster components\n' +
    '(`strait mc`) and un-inject workloads first.',
  options: {
    'control-plane-namespace': { type: 'string', valueName: 'NAME', description: 'default strait' },
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'yaml (default) or json' },
  },
  run(ctx) {
    const format = outputFormat(ctx.values.output ?? 'yaml');
    if (format === 'table') throw new UsageError('-o table is not supported', 'use yaml or json');
    const objects = uninstallObjects(optionalString(ctx.values, 'control-plane-namespace') ?? 'strait');
    ctx.stdout.write(formatManifest(objects, format));
    return 0;
  },
};
