// A pod's network namespace for the harness node, with proxy-init's rules run
// inside it for real. Needs root, iproute2 and iptables.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { uncommonPort } from '../suites/fixtures.ts';
import { askTagServer, netnsUnsupported } from './netns-test-support.ts';
import { createPodNetwork, type PodNetwork } from './pod-network.ts';

const PROXY_INIT = fileURLToPath(new URL('../../../src/cmd/proxy-init.ts', import.meta.url));
const TAG_SERVER = fileURLToPath(new URL('../../integration/proxy-init/tag-server.ts', import.meta.url));
const APP_PORT = uncommonPort();

describe('harness pod network', { timeout: 120_000, skip: netnsUnsupported(['ip', 'iptables']) }, () => {
  let pod: PodNetwork;
  let server: ChildProcess;

  before(async () => {
    pod = await createPodNetwork(`198.51.100.${randomInt(2, 250)}`);
    const [command, ...args] = pod.command([process.execPath, TAG_SERVER, 'pod', String(APP_PORT), '4143']);
    server = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const [chunk] = await once(server.stdout as NodeJS.ReadableStream, 'data');
    assert.equal(String(chunk).trim(), 'ready');
  });
  after(async () => {
    server?.kill();
    await pod?.close();
  });

  it('reaches a process listening on every address inside at the pod address', async () => {
    assert.deepEqual(await askTagServer(pod.ip, APP_PORT), { name: 'pod', port: APP_PORT, original: null });
  });

  it("gives the namespace its own /etc/hosts, where a Service's name can point", async () => {
    await pod.setHosts(new Map([['web-east.shop.svc.cluster.local', '198.19.7.2']]));
    const [command, ...args] = pod.command(['getent', 'ahostsv4', 'web-east.shop.svc.cluster.local']);
    assert.match(execFileSync(command as string, args, { encoding: 'utf8' }), /^198\.19\.7\.2\s/);
  });

  it("reaches a process on the machine's loopback through the bridge", async () => {
    const host = createServer((socket) => socket.end('from the host'));
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    try {
      const bridged = await pod.bridge(`127.0.0.1:${(host.address() as AddressInfo).port}`);
      const [port] = bridged.split(':').slice(1);
      const script = `require('node:net').connect(${port}, '169.254.1.1').pipe(process.stdout)`;
      const [command, ...args] = pod.command([process.execPath, '-e', script]);
      const child = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk;
      });
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
      assert.equal(text, 'from the host');
    } finally {
      host.close();
    }
  });

  it("sends a peer's connection to the app port to the proxy's inbound port once proxy-init ran", async () => {
    const [command, ...args] = pod.command([process.execPath, PROXY_INIT, '--proxy-uid', '2102']);
    const init = spawnSync(command as string, args, { encoding: 'utf8' });
    assert.equal(init.status, 0, init.stderr);
    assert.deepEqual(await askTagServer(pod.ip, APP_PORT), { name: 'pod', port: 4143, original: APP_PORT });
  });

  it('refuses an address whose namespace a running process owns, and leaves that one alone', async () => {
    // Never the pod's own address: that one is below 250.
    const address = '198.51.100.251';
    const etc = `/etc/netns/strait-pod-${address.replaceAll('.', '-')}`;
    mkdirSync(etc, { recursive: true });
    // The test runner is alive: the namespace is someone else's.
    writeFileSync(`${etc}/owner.pid`, String(process.ppid));
    try {
      await assert.rejects(createPodNetwork(address), /belongs to running process/);
      assert.equal(existsSync(`${etc}/owner.pid`), true);
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });

  it('removes the namespace and its link on close', async () => {
    const name = pod.name;
    await pod.close();
    assert.doesNotMatch(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }), new RegExp(name));
    assert.equal(execFileSync('ip', ['route', 'show', `${pod.ip}/32`], { encoding: 'utf8' }).trim(), '');
  });
});
