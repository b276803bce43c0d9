// How the demo reads from a cluster's workloads (the front end's answers) from the host. On
// loopback blocks the host reaches them directly; a cluster in its own network namespace is
// reached from inside it with `ip netns exec`, as a user would type it.
import { execFile } from 'node:child_process';
import { readClusterConfig } from '../platform/local/cluster-config.ts';
import { clusterDirectory } from '../platform/local/home.ts';
import { inNamespace } from '../platform/local/netns.ts';

// Run inside the namespace: GET the URL given as argument and print the body; fail on a non-2xx.
const GET = `fetch(process.argv[1]).then(async (r) => {
  const body = await r.text();
  if (!r.ok) throw new Error('HTTP ' + r.status + ': ' + body);
  process.stdout.write(body);
}).catch((error) => { process.stderr.write(String(error.message)); process.exitCode = 1; });`;

/** The network namespace a demo cluster runs in, if any. */
export function clusterNamespace(home: string, cluster: string): string | undefined {
  return readClusterConfig(clusterDirectory(home, cluster)).netns;
}

/** The command a user types to GET `url` from the host in the cluster's network. */
export function curlCommand(home: string, cluster: string, url: string): string {
  const namespace = clusterNamespace(home, cluster);
  const curl = `curl -s '${url}'`;
  return namespace ? `ip netns exec ${namespace} ${curl}` : curl;
}

/** GETs `url` in the cluster's network and returns the body; a non-2xx answer throws. */
export async function getInCluster(home: string, cluster: string, url: string): Promise<string> {
  const namespace = clusterNamespace(home, cluster);
  if (!namespace) {
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) });
    const body = await response.text();
    if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}: ${body}`);
    return body;
  }
  const [command, ...args] = inNamespace(namespace, [process.execPath, '-e', GET, url]);
  return new Promise((resolve, reject) => {
    execFile(command as string, args, { timeout: 15_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`GET ${url} in ${namespace}: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}
