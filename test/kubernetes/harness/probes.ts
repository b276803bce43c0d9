import { request } from 'node:http';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GroupProcess } from './processes.ts';

/** A readiness probe, as far as the node runs one. */
export interface Probe {
  tcpSocket?: { port: number };
  httpGet?: { path?: string; port: number };
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

function httpOk(host: string, port: number, path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, timeout: 2_000 }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/**
 * Waits until `probe` passes on the pod address, as a kubelet's readiness
 * probe would (TCP connect, or an HTTP GET answered 2xx/3xx). A process that
 * exits first fails the wait with its log; so does `signal` aborting.
 */
export async function waitForProbe(
  child: GroupProcess,
  host: string,
  probe: Probe,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const what = probe.httpGet
    ? `GET http://${host}:${probe.httpGet.port}${probe.httpGet.path ?? '/'}`
    : `${host}:${probe.tcpSocket?.port}`;
  while (Date.now() < deadline) {
    if (child.done) throw new Error(`${child.name} exited before ${what} was ready:\n${child.tail()}`);
    if (signal?.aborted) throw new Error(`${child.name}: start abandoned before ${what} was ready`);
    const passed = probe.httpGet
      ? await httpOk(host, probe.httpGet.port, probe.httpGet.path ?? '/')
      : await tcpOpen(host, probe.tcpSocket?.port as number);
    // Passed, but for our process? A crash (say EADDRINUSE) shows as an exit.
    if (passed && !child.done) return;
    await sleep(100);
  }
  throw new Error(`${child.name}: ${what} was not ready after ${timeoutMs} ms:\n${child.tail()}`);
}
