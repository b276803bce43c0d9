import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { APP_DIR } from '../../../src/platform/kubernetes/manifests/settings.ts';
import type { Pod, PodRuntime } from './node.ts';
import { containerEnvironment, type EnvVar } from './pod-environment.ts';
import { fillVolumes } from './pod-volumes.ts';
import { type Probe, waitForProbe } from './probes.ts';
import { type GroupProcess, startGroupProcess } from './processes.ts';

/** This checkout: the image keeps the same files under APP_DIR. */
const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** The container fields the runtime reads. */
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: Probe;
}

export interface ProcessRuntimeOptions {
  /** Where pods' logs and volumes go. */
  dir: string;
  /** Fills projected tokens and ConfigMap volumes. */
  client: KubeClient;
  /** `host:port` of a Service as cluster DNS names it → where it answers (no DNS, no kube-proxy here). */
  services?: ReadonlyMap<string, string>;
  readyTimeoutMs?: number;
}

/**
 * Runs each container that has a `command` as a local process, in order,
 * waiting for each one's readiness probe (TCP or HTTP GET on the pod address)
 * before the next, as an injected proxy's postStart hook makes a kubelet do.
 * `node` means this Node binary and paths under the image's APP_DIR mean this
 * checkout. The environment is the container's (see containerEnvironment) plus
 * POD_IP, POD_NAME and POD_NAMESPACE; volumes are filled under
 * `<dir>/<namespace>_<pod>/`. Init containers do not run: the node gives pods
 * no network namespace of their own, so proxy-init has nothing to set up.
 * Logs go to `<dir>/<namespace>_<pod>_<container>.log`.
 */
export function processRuntime(options: ProcessRuntimeOptions): PodRuntime {
  const { dir, client, services = new Map(), readyTimeoutMs = 60_000 } = options;
  const inCheckout = (arg: string) =>
    arg.startsWith(`${APP_DIR}/`) ? CHECKOUT + arg.slice(APP_DIR.length) : arg;
  return {
    async start(pod: Pod, ip: string) {
      const started: GroupProcess[] = [];
      const stop = async () => {
        await Promise.all(started.map((child) => child.stop(5_000)));
      };
      const { namespace = '', name } = pod.metadata;
      try {
        await mkdir(dir, { recursive: true });
        const containers = (pod.spec?.containers ?? []) as Container[];
        const volumes = containers.some((c) => c.command)
          ? await fillVolumes(client, pod, ip, join(dir, `${namespace}_${name}`))
          : new Map<string, string>();
        for (const container of containers) {
          const [command, ...commandArgs] = container.command ?? [];
          if (!command) continue;
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
            ...containerEnvironment(container.env ?? [], { pod, ip, mounts, services }),
          };
          const child = startGroupProcess(
            `${namespace}/${name}/${container.name}`,
            command === 'node' ? process.execPath : inCheckout(command),
            [...commandArgs, ...(container.args ?? [])].map(inCheckout),
            { logFile: join(dir, `${namespace}_${name}_${container.name}.log`), env },
          );
          started.push(child);
          const probe = container.readinessProbe;
          if (probe?.tcpSocket || probe?.httpGet) await waitForProbe(child, ip, probe, readyTimeoutMs);
        }
      } catch (error) {
        await stop();
        throw error;
      }
      return stop;
    },
  };
}
