// Two local clusters of one mesh, west linked to east, for the tests of the cross-cluster path with
// real processes. As root each cluster runs in its own network namespace, so the only way between
// them is what binds a cluster's link address (its API and gateway).

import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { networkNamespacesSupported } from '../../../src/platform/local/netns.ts';
import { type LocalClusters, localRunArgs } from '../../fixtures/local-clusters.ts';
import { namespaceManifest } from '../../fixtures/manifests.ts';

/** Whether each cluster gets its own network namespace here (root, iproute2). */
export const NETNS = networkNamespacesSupported();

/** An application answering `hello from <workload name>` (see local/echo-app.mjs). */
const ECHO = fileURLToPath(new URL('../local/echo-app.mjs', import.meta.url));

/** A program that calls the URL it is given once and prints the status and body. */
export const CALL = fileURLToPath(new URL('../local/call-app.mjs', import.meta.url));

/** Starts the echo application in east's `shop` as `name`, on port `http` (8080), ready at /ready. */
export function startEchoInEast(
  clusters: LocalClusters,
  name: string,
  options: { serviceAccount: string; labels?: Record<string, string> },
): ChildProcess {
  return clusters.start(
    localRunArgs(
      { cluster: 'east', namespace: 'shop', name, ...options, port: 'http=8080', readyPath: '/ready' },
      [process.execPath, ECHO],
    ),
  );
}

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
