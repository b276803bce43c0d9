// The process runtime with a network namespace per pod: proxy-init as the pod's
// init container, the proxy's stand-in as its UID, a Service bridged in.
// Needs root, iproute2, iptables and setpriv.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../../src/platform/kubernetes/client.ts';
import { entryCommand } from '../../../src/platform/kubernetes/manifests/settings.ts';
import { eventually, uncommonPort } from '../suites/fixtures.ts';
import { askTagServer, netnsUnsupported } from './netns-test-support.ts';
import type { Pod } from './node.ts';
import { processRuntime } from './process-runtime.ts';

const run = promisify(execFile);
const TAG_SERVER = '/app/test/integration/proxy-init/tag-server.ts';
const APP_PORT = uncommonPort();

/** The pid of the web container's process (its command line names it). */
function webPid(): string {
  const found = readdirSync('/proc').find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`tag-server.ts\0web\0${APP_PORT}`);
    } catch {
      return false;
    }
  });
  assert.ok(found, 'the web process');
  return found;
}

function unusedConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:9' }],
    users: [{ name: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });
  return config;
}

describe('process runtime in a network namespace per pod', {
  timeout: 120_000,
  skip: netnsUnsupported(['ip', 'iptables', 'setpriv']),
}, () => {
  const cleanups: (() => Promise<void>)[] = [];
  let stopPod: (() => Promise<void>) | undefined;
  let podIp = '';
  after(async () => {
    await stopPod?.();
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  });

  it("runs proxy-init for the pod, so a peer's connection to the app port reaches the proxy", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'strait-netns-pod-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const control = createServer((socket) => socket.end('{"name":"control plane"}'));
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => void control.close());
    const controlAddress = `127.0.0.1:${(control.address() as AddressInfo).port}`;
    const runtime = processRuntime({
      dir,
      // The pod has no volumes: the client is never asked anything.
      client: new KubeClient(unusedConfig()),
      services: new Map([['strait-identity.strait.svc.cluster.local:8080', controlAddress]]),
      networkNamespaces: {},
    });
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web-0', namespace: 'shop' },
      spec: {
        initContainers: [
          { name: 'strait-init', command: entryCommand('proxy-init'), args: ['--proxy-uid', '2102'] },
        ],
        containers: [
          {
            name: 'strait-proxy',
            command: ['node', TAG_SERVER, 'proxy', '4143'],
            securityContext: { runAsUser: 2102 },
          },
          {
            name: 'web',
            command: ['node', TAG_SERVER, 'web', String(APP_PORT)],
            env: [{ name: 'IDENTITY', value: 'strait-identity.strait.svc.cluster.local:8080' }],
          },
        ],
      },
    } as unknown as Pod;
    assert.equal(runtime.ownsAddress?.(pod), true);
    const ip = `203.0.113.${randomInt(2, 250)}`;
    stopPod = await runtime.start(pod, ip, new AbortController().signal);
    podIp = ip;
    // No readiness probes: the tag server does not survive a probe's reset.
    const answer = await eventually(
      'the pod to answer',
      () => askTagServer(ip, APP_PORT).catch(() => undefined),
      30_000,
    );
    assert.deepEqual(answer, { name: 'proxy', port: 4143, original: APP_PORT });
    // The Service's name became the bridge into the pod, which the proxy's UID dials past proxy-init.
    const environ = readFileSync(`/proc/${webPid()}/environ`, 'utf8').split('\0');
    const identity = environ.find((line) => line.startsWith('IDENTITY='))?.slice('IDENTITY='.length) ?? '';
    assert.match(identity, /^169\.254\.1\.1:\d+$/);
    const [host, port] = identity.split(':');
    // Asynchronously: the control plane's stand-in answers from this process's event loop.
    const dial = await run(
      'ip',
      [
        'netns',
        'exec',
        `strait-pod-${ip.replaceAll('.', '-')}`,
        'setpriv',
        '--reuid=2102',
        '--regid=2102',
        '--clear-groups',
        process.execPath,
        '-e',
        `require('node:net').connect(${port}, '${host}').pipe(process.stdout)`,
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(dial.stdout, '{"name":"control plane"}', dial.stderr);
  });

  it("stopping the pod ends its processes and removes its namespace, link and the Service's rule", async () => {
    assert.ok(stopPod, 'the pod started');
    const pids = ipOutput(['netns', 'pids', `strait-pod-${podIp.replaceAll('.', '-')}`]);
    assert.notEqual(pids, '', 'processes run in the namespace');
    await stopPod();
    stopPod = undefined;
    for (const pid of pids.split('\n'))
      assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} still runs`);
    assert.doesNotMatch(
      ipOutput(['netns', 'list']),
      new RegExp(`strait-pod-${podIp.replaceAll('.', '-')}\\b`),
    );
    assert.equal(ipOutput(['route', 'show', `${podIp}/32`]), '');
    const [, second, third, fourth] = podIp.split('.');
    assert.equal(ipOutput(['link', 'show', `sph${second}-${third}-${fourth}`], true), '');
    const rules = execFileSync('iptables', ['-w', '-t', 'nat', '-S', 'PREROUTING'], { encoding: 'utf8' });
    assert.doesNotMatch(rules, new RegExp(`-i sph${second}-${third}-${fourth} `));
  });
});

/** `ip <args>`'s output, trimmed; '' where `missingIsEmpty` and the object does not exist. */
function ipOutput(args: string[], missingIsEmpty = false): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch (error) {
    if (missingIsEmpty) return '';
    throw error;
  }
}
