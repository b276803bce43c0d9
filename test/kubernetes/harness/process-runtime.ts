import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { APP_DIR } from '../../../src/platform/kubernetes/manifests/settings.ts';
import { dataPlaneEntry, isDataPlaneEntry } from '../../../src/proxy/launch.ts';
import type { Pod, PodRuntime } from './node.ts';
import { containerEnvironment, type EnvVar } from './pod-environment.ts';
import { createPodNetwork, type PodNetwork } from './pod-network.ts';
import { fillVolumes } from './pod-volumes.ts';
import { type Probe, waitForProbe } from './probes.ts';
import { type GroupProcess, startGroupProcess } from './processes.ts';

/** This checkout: the image keeps the same files under APP_DIR. */
const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/**
 * A pod annotated `harness.strait.io/network: namespace` gets a network
 * namespace of its own from a runtime with `networkNamespaces`.
 */
export const POD_NETWORK_ANNOTATION = 'harness.strait.io/network';

/** The container fields the runtime reads. */
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: Probe;
  securityContext?: { runAsUser?: number };
}

export interface ProcessRuntimeOptions {
  /** Where pods' logs and volumes go. */
  dir: string;
  /** Fills projected tokens and ConfigMap volumes. */
  client: KubeClient;
  /** `host:port` of a Service as cluster DNS names it → where it answers (no DNS, no kube-proxy here). */
  services?: ReadonlyMap<string, string>;
  readyTimeoutMs?: number;
  /**
   * Gives pods a network namespace of their own (see createPodNetwork): their
   * init containers run there (proxy-init's rules apply to the pod alone),
   * their containers run there as their `runAsUser`, Services' real addresses
   * are bridged into it. `selects` picks the pods (default: every pod).
   */
  networkNamespaces?: { selects?: (pod: Pod) => boolean };
}

/** Whether a pod carries POD_NETWORK_ANNOTATION. */
export function wantsNetworkNamespace(pod: Pod): boolean {
  return pod.metadata.annotations?.[POD_NETWORK_ANNOTATION] === 'namespace';
}

/**
 * Runs each container that has a `command` as a local process, in order,
 * waiting for each one's readiness probe (TCP or HTTP GET on the pod address)
 * before the next, as an injected proxy's postStart hook makes a kubelet do.
 * `node` means this Node binary and paths under the image's APP_DIR mean this
 * checkout (for the compiled proxy and gateway, what dataPlaneEntry picks).
 * The environment is the container's (see containerEnvironment) plus POD_IP,
 * POD_NAME and POD_NAMESPACE; volumes are filled under `<dir>/<namespace>_<pod>/`.
 * Init containers run only for a pod with a network namespace of its own
 * (proxy-init needs one).
 * Logs go to `<dir>/<namespace>_<pod>_<container>.log`.
 */
export function processRuntime(options: ProcessRuntimeOptions): PodRuntime {
  const { dir, client, services = new Map(), readyTimeoutMs = 60_000, networkNamespaces } = options;
  const inCheckout = (arg: string) => {
    if (!arg.startsWith(`${APP_DIR}/`)) return arg;
    const path = arg.slice(APP_DIR.length);
    // The image's compiled data plane: this checkout's dist/ while it is up to date, else the source.
    const compiled = /^\/dist\/cmd\/([\w-]+)\.js$/.exec(path)?.[1];
    return compiled && isDataPlaneEntry(compiled) ? dataPlaneEntry(compiled) : CHECKOUT + path;
  };
  const argvOf = (container: Container) => {
    const [command, ...commandArgs] = container.command ?? [];
    if (!command) return undefined;
    return [
      command === 'node' ? process.execPath : inCheckout(command),
      ...[...commandArgs, ...(container.args ?? [])].map(inCheckout),
    ];
  };
  const ownsAddress = (pod: Pod) =>
    networkNamespaces !== undefined && (networkNamespaces.selects?.(pod) ?? true);
  return {
    ownsAddress,
    async start(pod: Pod, ip: string, signal: AbortSignal) {
      const started: GroupProcess[] = [];
      let network: PodNetwork | undefined;
      const stop = async () => {
        await Promise.all(started.map((child) => child.stop(5_000)));
        await network?.close();
      };
      const { namespace = '', name } = pod.metadata;
      const run = (container: Container, argv: string[], env: NodeJS.ProcessEnv) => {
        const child = startGroupProcess(
          `${namespace}/${name}/${container.name}`,
          argv[0] as string,
          argv.slice(1),
          {
            logFile: join(dir, `${namespace}_${name}_${container.name}.log`),
            env,
          },
        );
        started.push(child);
        return child;
      };
      try {
        await mkdir(dir, { recursive: true });
        const containers = (pod.spec?.containers ?? []) as Container[];
        const volumes = containers.some((c) => c.command)
          ? await fillVolumes(client, pod, ip, join(dir, `${namespace}_${name}`))
          : new Map<string, string>();
        let reachable = services;
        if (ownsAddress(pod)) {
          network = await createPodNetwork(ip);
          // spec.hostAliases, which a kubelet writes into the pod's /etc/hosts, stand in for cluster DNS.
          const aliases = (pod.spec as { hostAliases?: { ip: string; hostnames?: string[] }[] } | undefined)
            ?.hostAliases;
          if (aliases?.length) {
            await network.setHosts(
              new Map(
                aliases.flatMap((alias) => (alias.hostnames ?? []).map((host) => [host, alias.ip] as const)),
              ),
            );
          }
          const bridged = new Map<string, string>();
          for (const [service, at] of services) bridged.set(service, await network.bridge(at));
          reachable = bridged;
          const inits = (pod.spec as { initContainers?: Container[] } | undefined)?.initContainers ?? [];
          for (const init of inits) {
            const argv = argvOf(init);
            if (!argv) continue;
            const child = run(init, network.command(argv), { PATH: process.env.PATH });
            const code = await child.exited;
            if (code !== 0) throw new Error(`init container ${init.name} exited ${code}:\n${child.tail()}`);
          }
        }
        for (const container of containers) {
          let argv = argvOf(container);
          if (!argv) continue;
          const mounts = new Map<string, string>();
          for (const mount of container.volumeMounts ?? []) {
            const filled = volumes.get(mount.name);
            if (filled) mounts.set(mount.mountPath, filled);
          }
          const env: NodeJS.ProcessEnv = {
            PATH: process.env.PATH,
            POD_IP: ip,
            POD_NAME: name,
            POD_NAMESPACE: namespace,
            ...containerEnvironment(container.env ?? [], {
              pod,
              ip,
              mounts,
              services: reachable,
              ownNetwork: network !== undefined,
            }),
          };
          if (network) {
            // proxy-init lets the proxy's own connections out by its UID.
            const uid = container.securityContext?.runAsUser;
            const user =
              uid === undefined ? [] : ['setpriv', `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups'];
            argv = network.command([...user, ...argv]);
          }
          const child = run(container, argv, env);
          const probe = container.readinessProbe;
          if (probe?.tcpSocket || probe?.httpGet)
            await waitForProbe(child, ip, probe, readyTimeoutMs, signal);
        }
      } catch (error) {
        await stop();
        throw error;
      }
      return stop;
    },
  };
}
