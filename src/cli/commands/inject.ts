import { parseAllDocuments } from 'yaml';
import { StraitError, UsageError } from '../../core/errors.ts';
import { KubeClient } from '../../platform/kubernetes/client.ts';
import {
  type InjectReport,
  injectManifest,
  type ManifestValue,
  readTrustAnchors,
} from '../../platform/kubernetes/injector/index.ts';
import { loadKubeConfig } from '../../platform/kubernetes/open.ts';
import { type Command, optionalString } from '../command.ts';
import { outputFormat } from '../output.ts';
import { readInput } from './identity-files.ts';
import { meshSettingsFrom } from './install.ts';
import { straitVersion } from './version.ts';

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Injects every Pod and pod template in YAML or JSON text (documents, Lists).
 * With `force`, objects are injected whatever their annotations say.
 */
export function injectText(
  text: string,
  options: Parameters<typeof injectManifest>[1],
  reports: InjectReport[] = [],
): ManifestValue[] {
  const out: ManifestValue[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    const where = `stdin, document ${index + 1}`;
    if (document.errors.length > 0) {
      throw new StraitError('E_MANIFEST', `${where}: not valid YAML: ${document.errors[0]?.message}`);
    }
    const value = document.toJS() as unknown;
    if (value === null || value === undefined) return;
    if (
      typeof value !== 'object' ||
      Array.isArray(value) ||
      typeof (value as ManifestValue).kind !== 'string'
    ) {
      throw new StraitError('E_MANIFEST', `${where}: not a Kubernetes object (a mapping with kind)`);
    }
    out.push(injectManifest(value as ManifestValue, options, reports));
  });
  return out;
}

export const injectCommand: Command = {
  name: 'inject',
  summary: 'Add the Strait proxy to the workloads in YAML on stdin',
  args: '-',
  description:
    'Read Kubernetes YAML (Deployments, StatefulSets, DaemonSets, Jobs, Pods, Lists…) on stdin and\n' +
    'write it to stdout with the proxy and proxy-init added to every pod template, as the proxy\n' +
    'injector would. The workloads are marked strait.io/inject: enabled unless --manual-only.\n' +
    "The proxy carries the control plane's trust anchors, read from the cluster (--context) unless\n" +
    '--identity-trust-anchors-file names them.\n' +
    'Example: kubectl get deploy -n shop -o yaml | strait inject - | kubectl apply -f -',
  options: {
    'manual-only': {
      type: 'boolean',
      description: 'inject only objects already annotated strait.io/inject: enabled',
    },
    image: { type: 'string', valueName: 'IMAGE', description: 'the Strait image for the proxy' },
    'identity-trust-anchors-file': {
      type: 'string',
      valueName: 'FILE',
      description: "PEM trust anchors instead of the installed control plane's",
    },
    'control-plane-namespace': { type: 'string', valueName: 'NAME', description: 'default strait' },
    'identity-trust-domain': { type: 'string', valueName: 'DOMAIN', description: 'default cluster.local' },
    'cluster-domain': { type: 'string', valueName: 'DOMAIN', description: 'default cluster.local' },
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'yaml (default) or json' },
  },
  async run(ctx) {
    if (ctx.positionals.length > 1 || (ctx.positionals[0] !== undefined && ctx.positionals[0] !== '-')) {
      throw new UsageError('strait inject reads stdin: pass - or nothing', 'pipe the YAML in');
    }
    const format = outputFormat(ctx.values.output ?? 'yaml');
    const settings = meshSettingsFrom(ctx.values);
    const text = await readAll(ctx.stdin);
    const anchorsFile = optionalString(ctx.values, 'identity-trust-anchors-file');
    const trustAnchorsPem = anchorsFile
      ? readInput(anchorsFile, '--identity-trust-anchors-file')
      : await readTrustAnchors(
          new KubeClient(
            loadKubeConfig({
              kubeconfig: optionalString(ctx.values, 'kubeconfig'),
              context: optionalString(ctx.values, 'context'),
            }),
          ),
          settings.controlPlaneNamespace,
        );
    const reports: InjectReport[] = [];
    const objects = injectText(
      text,
      { settings, version: straitVersion, trustAnchorsPem, force: ctx.values['manual-only'] !== true },
      reports,
    );
    if (format === 'json') {
      const value = objects.length === 1 ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
      ctx.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    } else {
      const { stringify } = await import('yaml');
      ctx.stdout.write(objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(''));
    }
    for (const report of reports) {
      ctx.stderr.write(`${report.object} ${report.injected ? 'injected' : `skipped (${report.reason})`}\n`);
    }
    return 0;
  },
};
