// The multi-cluster scenario with real processes: two local clusters (west,
// east) sharing one trust anchor with separate issuers; east's control plane
// runs its gateway after `mc install`, west's follows the Link with its
// service mirror; a west workload calls `backend-east` and gets east's answer
// over mTLS through the gateway. As root each cluster runs in its own network
// namespace, so the only way between them is what binds a cluster's link
// address (its API and gateway); otherwise each has its own loopback block.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { createAnchor } from '../../../src/pki/index.ts';
import { linkAddress, readClusterConfig } from '../../../src/platform/local/cluster-config.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { networkNamespacesSupported } from '../../../src/platform/local/netns.ts';
import { eventually, strait, straitInBackground } from '../local/cli.ts';
import { setGatewayReplicas } from './gateway-control.ts';
import { exchange } from './mesh-fixtures.ts';

const ECHO = fileURLToPath(new URL('../local/echo-app.mjs', import.meta.url));
const CALL = fileURLToPath(new URL('../local/call-app.mjs', import.meta.url));
const GATEWAY_ID = 'strait-gateway.strait-multicluster.serviceaccount.identity.strait.cluster.local';

const EXPORTED_BACKEND = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: backend
  namespace: shop
  labels:
    mirror.strait.io/exported: "true"
spec:
  selector:
    app: backend
  ports:
    - name: http
      port: 80
      targetPort: http
`;

/** Each cluster in its own network namespace when that is possible here (root, iproute2). */
const NETNS = networkNamespacesSupported();

describe(`two linked clusters (real processes${NETNS ? ', network namespaces' : ''})`, {
  timeout: 900_000,
}, () => {
  const home = mkdtempSync(join(tmpdir(), 'strait-mc-'));
  const processes: ChildProcess[] = [];
  const run = async (args: string[], input?: string) => {
    const result = await strait(home, args, input);
    assert.equal(result.code, 0, `strait ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  const westStore = () => openClusterStore(clusterDirectory(home, 'west'));
  /** Where east's gateway is: its link address (its loopback address without namespaces). */
  const eastGateway = () => linkAddress(readClusterConfig(clusterDirectory(home, 'east')));

  before(async () => {
    const anchor = createAnchor();
    writeFileSync(join(home, 'anchor.crt'), anchor.certPem);
    writeFileSync(join(home, 'anchor.key'), anchor.keyPem);
    for (const cluster of ['west', 'east']) {
      await run([
        'local',
        'up',
        '--cluster',
        cluster,
        '--trust-anchor-cert',
        join(home, 'anchor.crt'),
        '--trust-anchor-key',
        join(home, 'anchor.key'),
        ...(NETNS ? ['--netns'] : []),
      ]);
    }

    // East's control plane runs the gateway once it is installed; nothing is started by hand.
    const installed = await run(['mc', 'install', '--context', 'east']);
    assert.match(installed, /gateway running in the control plane \(ready, pid \d+\)/);
    await run(['mc', 'link', '--context', 'west', '--target-context', 'east', '--cluster-name', 'east']);
    await run(['local', 'apply', '--context', 'east', '-f', '-'], EXPORTED_BACKEND);
    await run(
      ['local', 'apply', '--context', 'west', '-f', '-'],
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
    );
    processes.push(
      straitInBackground(home, [
        'local',
        'run',
        '--cluster',
        'east',
        '-n',
        'shop',
        '--service-account',
        'backend',
        '--name',
        'backend',
        '--port',
        'http=8080',
        '--ready-path',
        '/ready',
        '--',
        process.execPath,
        ECHO,
      ]),
    );
  });

  after(async () => {
    for (const child of processes.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    for (const cluster of ['west', 'east'])
      await strait(home, ['local', 'down', '--cluster', cluster, '--delete']);
    rmSync(home, { recursive: true, force: true });
  });

  it('mirrors east’s exported service into west as backend-east, at east’s gateway', async () => {
    const endpoints = await eventually(
      'the mirror of backend in west',
      async () => {
        const store = westStore();
        try {
          const service = await store.get<Service>({
            ...Kinds.Service,
            namespace: 'shop',
            name: 'backend-east',
          });
          const eps = await store.get<Endpoints>({
            ...Kinds.Endpoints,
            namespace: 'shop',
            name: 'backend-east',
          });
          return service && eps?.subsets?.[0]?.addresses?.length ? eps : undefined;
        } finally {
          store.close();
        }
      },
      180_000,
    );
    assert.deepEqual(endpoints.subsets?.[0]?.addresses, [{ ip: eastGateway() }]);
    assert.equal(endpoints.subsets?.[0]?.ports?.[0]?.port, 4143);
  });

  it('a west workload calls backend-east and gets east’s answer through the gateway', async () => {
    const backendAddress = await eventually(
      'the backend in east to be ready',
      async () => {
        const store = openClusterStore(clusterDirectory(home, 'east'));
        try {
          const eps = await store.get<Endpoints>({ ...Kinds.Endpoints, namespace: 'shop', name: 'backend' });
          return eps?.subsets?.[0]?.addresses?.[0]?.ip;
        } finally {
          store.close();
        }
      },
      180_000,
    );
    const stdout = await run([
      'local',
      'run',
      '--cluster',
      'west',
      '-n',
      'shop',
      '--service-account',
      'frontend',
      '--name',
      'frontend',
      '--',
      process.execPath,
      CALL,
      'http://backend-east.shop.svc.cluster.local:80/',
    ]);
    assert.equal(stdout, '200 hello from backend\n');
    const gatewayMetrics = await (await fetch(`http://${eastGateway()}:4191/metrics`)).text();
    assert.match(gatewayMetrics, /gateway_connections_total\{outcome="forwarded"\} [1-9]/);
    // The backend's proxy saw the west caller's identity, carried by the gateway. Its admin
    // port is reached from inside east (with namespaces, the host cannot reach it).
    const backendMetrics = await run([
      ...['local', 'run', '--cluster', 'east', '-n', 'shop', '--name', 'metrics-reader', '--no-proxy'],
      ...[
        '--',
        process.execPath,
        '-e',
        `fetch("http://${backendAddress}:4191/metrics").then((r) => r.text()).then((t) => process.stdout.write(t))`,
      ],
    ]);
    assert.match(
      backendMetrics,
      /direction="inbound"[^}]*client_id="frontend\.shop\.serviceaccount\.identity\.strait\.cluster\.local"/,
    );
  });

  it('east’s gateway refuses a client without a certificate', async () => {
    const socket = tls.connect({
      host: eastGateway(),
      port: 4143,
      servername: GATEWAY_ID,
      rejectUnauthorized: false,
    });
    assert.equal(
      await exchange(socket, 'GET / HTTP/1.1\r\nhost: backend.shop.svc.cluster.local\r\n\r\n'),
      '',
    );
  });

  it('mc gateways shows east alive with its probe latency; mc check passes', async () => {
    const table = await eventually(
      'east alive in mc gateways',
      async () => {
        const out = await run(['mc', 'gateways', '--context', 'west']);
        return /^east\s+true\s+1\s+\d+ms/m.test(out) ? out : undefined;
      },
      90_000,
    );
    assert.match(table, /CLUSTER\s+ALIVE\s+NUM_SVC\s+LATENCY_P50\s+LATENCY_P95\s+LATENCY_P99/);
    const check = await strait(home, ['mc', 'check', '--context', 'west']);
    assert.equal(check.code, 0, check.stdout);
    assert.match(check.stdout, /✓ trust anchor shared with the target’s gateway/);
  });

  it('stopping east’s gateway (replicas "0") marks the mirror not ready within the probe window', async () => {
    await setGatewayReplicas(home, 'east', 0);
    await eventually(
      'the mirror endpoints not ready',
      async () => {
        const store = westStore();
        try {
          const eps = await store.get<Endpoints>({
            ...Kinds.Endpoints,
            namespace: 'shop',
            name: 'backend-east',
          });
          const subset = eps?.subsets?.[0];
          return subset?.notReadyAddresses?.length && !subset.addresses?.length ? true : undefined;
        } finally {
          store.close();
        }
      },
      90_000,
    );
    const check = await strait(home, ['mc', 'check', '--context', 'west']);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /× gateway alive/);
    await setGatewayReplicas(home, 'east', 1);
    await eventually(
      'the mirror endpoints ready again',
      async () => {
        const store = westStore();
        try {
          const eps = await store.get<Endpoints>({
            ...Kinds.Endpoints,
            namespace: 'shop',
            name: 'backend-east',
          });
          return eps?.subsets?.[0]?.addresses?.length ? true : undefined;
        } finally {
          store.close();
        }
      },
      90_000,
    );
  });

  it('unlink removes the Link, its credential and every mirror', async () => {
    await run(['mc', 'unlink', '--context', 'west', '--cluster-name', 'east']);
    const store = westStore();
    try {
      const mirrors = await store.list(Kinds.Service, {
        labelSelector: 'mirror.strait.io/cluster-name=east',
      });
      assert.deepEqual(mirrors.items, []);
      assert.equal(
        await store.get({
          ...Kinds.Secret,
          namespace: 'strait-multicluster',
          name: 'cluster-credentials-east',
        }),
        undefined,
      );
    } finally {
      store.close();
    }
  });

  it('mc allow makes a separate credential that can be revoked alone; uninstall removes the components', async () => {
    await run(['mc', 'allow', '--context', 'east', '--name', 'north']);
    const generated = await run([
      'mc',
      'link-gen',
      '--context',
      'east',
      '--cluster-name',
      'east',
      '--service-account',
      'north',
    ]);
    assert.match(generated, /kind: Link/);
    await run(['mc', 'allow', '--context', 'east', '--name', 'north', '--revoke']);
    const refused = await strait(home, [
      'mc',
      'link-gen',
      '--context',
      'east',
      '--cluster-name',
      'east',
      '--service-account',
      'north',
    ]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /E_MC_CREDENTIAL/);
    // The default credential is unaffected.
    assert.match(
      await run(['mc', 'link-gen', '--context', 'east', '--cluster-name', 'east']),
      /kind: Secret/,
    );

    await run(['mc', 'uninstall', '--context', 'east']);
    const gone = await strait(home, ['mc', 'link-gen', '--context', 'east', '--cluster-name', 'east']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /E_MC_NOT_INSTALLED/);
  });
});
