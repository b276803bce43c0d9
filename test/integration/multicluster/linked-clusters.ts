// Two local clusters of one mesh, west linked to east, for the tests of the cross-cluster path with
// real processes. As root each cluster runs in its own network namespace, so the only way between
// them is what binds a cluster's link address (its API and gateway).
import { fileURLToPath } from 'node:url';
import { networkNamespacesSupported } from '../../../src/platform/local/netns.ts';
import type { LocalClusters } from '../../fixtures/local-clusters.ts';
import { namespaceManifest } from '../../fixtures/manifests.ts';

/** Whether each cluster gets its own network namespace here (root, iproute2). */
export const NETNS = networkNamespacesSupported();

/** An application answering `hello from <workload name>` (see local/echo-app.mjs). */
export const ECHO = fileURLToPath(new URL('../local/echo-app.mjs', import.meta.url));

/** A program that calls the URL it is given once and prints the status and body. */
export const CALL = fileURLToPath(new URL('../local/call-app.mjs', import.meta.url));

/**
 * Brings up west and east (sharing west's trust anchor), installs multicluster in east, links
 * west to east and makes the namespace `shop` in west; resolves what `mc install` said.
 */
export async function upLinked(clusters: LocalClusters): Promise<string> {
  await clusters.up(['west', 'east'], { flags: NETNS ? ['--netns'] : [] });
  const installed = await clusters.run(['mc', 'install', '--context', 'east']);
  await clusters.run([
    'mc',
    'link',
    '--context',
    'west',
    '--target-context',
    'east',
    '--cluster-name',
    'east',
  ]);
  await clusters.apply('west', namespaceManifest('shop'));
  return installed;
}
