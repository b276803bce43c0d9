import { mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pod, PodRuntime } from './node.ts';
import { type GroupProcess, startGroupProcess } from './processes.ts';

/** The container fields the runtime reads. */
interface Container {
  name: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  readinessProbe?: { tcpSocket?: { port: number } };
}

/**
 * Runs each container that has a `command` as a local process (`node` means
 * this Node binary), with the container's env plus POD_IP, POD_NAME and
 * POD_NAMESPACE, and waits for a `tcpSocket` readiness probe on the pod
 * address when there is one. Logs go to `<logDir>/<namespace>_<pod>_<container>.log`.
 */
export function processRuntime(logDir: string, readyTimeoutMs = 60_000): PodRuntime {
  return {
    async start(pod: Pod, ip: string) {
      await mkdir(logDir, { recursive: true });
      const started: GroupProcess[] = [];
      const stop = async () => {
        await Promise.all(started.map((child) => child.stop(5_000)));
      };
      const { namespace = '', name } = pod.metadata;
      try {
        for (const container of (pod.spec?.containers ?? []) as Container[]) {
          const [command, ...commandArgs] = container.command ?? [];
          if (!command) continue;
          const env: NodeJS.ProcessEnv = {
            PATH: process.env.PATH,
            POD_IP: ip,
            POD_NAME: name,
            POD_NAMESPACE: namespace,
          };
          for (const variable of container.env ?? []) env[variable.name] = variable.value ?? '';
          const child = startGroupProcess(
            `${namespace}/${name}/${container.name}`,
            command === 'node' ? process.execPath : command,
            [...commandArgs, ...(container.args ?? [])],
            { logFile: join(logDir, `${namespace}_${name}_${container.name}.log`), env },
          );
          started.push(child);
          const port = container.readinessProbe?.tcpSocket?.port;
          if (port !== undefined) await waitForPort(child, ip, port, readyTimeoutMs);
        }
      } catch (error) {
        await stop();
        throw error;
      }
      return stop;
    },
  };
}

async function waitForPort(
  child: GroupProcess,
  host: string,
  port: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.done)
      throw new Error(`${child.name} exited before ${host}:${port} was ready:\n${child.tail()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host, port }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    // Connected, but to our process? A crash (say EADDRINUSE) shows as an exit.
    if (open && !child.done) return;
    await sleep(100);
  }
  throw new Error(`${child.name}: ${host}:${port} was not ready after ${timeoutMs} ms:\n${child.tail()}`);
}
