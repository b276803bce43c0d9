import { StraitError, UsageError } from '../../core/errors.ts';
import { formatKubeconfig } from '../../platform/local/api/kubeconfig.ts';
import { apiCredential } from '../../platform/local/cluster-store.ts';
import type { Command } from '../command.ts';
import { resolveContext } from '../context.ts';

/** `strait local kubeconfig`: the admin kubeconfig of a local cluster, for kubectl. */
export const localKubeconfigCommand: Command = {
  name: 'kubeconfig',
  summary: 'Print a kubeconfig for a local cluster (its admin credential), for kubectl',
  description:
    'The cluster is the one --context names (else the default context).\n' +
    'Example: strait local kubeconfig --context west > west.kubeconfig\n' +
    '         kubectl --kubeconfig west.kubeconfig get services -A',
  run(ctx) {
    if (ctx.positionals.length > 0)
      throw new UsageError('choose the cluster with --context, not an argument');
    const context = resolveContext(ctx.values, ctx.env);
    if (context.platform !== 'local') {
      throw new StraitError('E_CONTEXT', `context "${context.name}" is a Kubernetes cluster`, {
        hint: `kubectl reads it from ${context.kubeconfig} already`,
      });
    }
    ctx.stdout.write(formatKubeconfig(apiCredential(context.dir)));
    return 0;
  },
};
