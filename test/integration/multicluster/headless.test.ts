// Headless services across clusters with real processes: east runs a headless
// service with two named workloads and exports it; west calls each pod by its
// per-pod name `<pod>.<svc>-east`, and each answer comes from that exact east
// workload (west's destination hands the proxy east's gateway with the
// authority override `<pod>.<svc>.<ns>.svc.<east domain>`; the gateway resolves
// it through east's destination to that one pod).
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Endpoints, Service } from '../../../src/core/api/core.ts';
import { Kinds } from '../../../src/core/kinds.ts';
import { createAnchor } from '../../../src/pki/index.ts';
import { linkAddress, readClusterConfig } from '../../../src/platform/local/cluster-config.ts';
import { openClusterStore } from '../../../src/platform/local/cluster-store.ts';
import { clusterDirectory } from '../../../src/platform/local/home.ts';
import { networkNamespacesSupported } from '../../../src/platform/local/netns.ts';
import { eventually, stopProcess, strait, straitInBackground } from '../local/cli.ts';

const ECHO = fileURLToPath(new URL('../local/echo-app.mjs', import.meta.url));
const CALL = fileURLToPath(new URL('../local/call-app.mjs', import.meta.url));
const PODS = ['web-0', 'web-1'];

const EXPORTED_HEADLESS = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
  labels:
    mirror.strait.io/exported: "true"
spec:
  clusterIP: None
  selector:
    set: web
  ports:
    - name: http
      port: 80
      targetPort: http
`;

const NETNS = networkNamespacesSupported();

describe(`a headless service across linked clusters (real processes${NETNS ? ', network namespaces' : ''})`, {
  timeout: 900_000,
}, () => {
  const home = mkdtempSync(join(tmpdir(), 'strait-mc-headless-'));
  const processes: ChildProcess[] = [];
  const run = async (args: string[], input?: string) => {
    const result = await strait(home, args, input);
    assert.equal(result.code, 0, `strait ${args.join(' ')}\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  };
  const read = async <T extends Service | Endpoints>(
    cluster: string,
    kind: typeof Kinds.Service | typeof Kinds.Endpoints,
    name: string,
  ) => {
    const store = openClusterStore(clusterDirectory(home, cluster));
    try {
      return await store.get<T>({ ...kind, namespace: 'shop', name });
    } finally {
      store.close();
    }
  };
  const eastGateway = () => linkAddress(readClusterConfig(clusterDirectory(home, 'east')));

  before(async () => {
    const anchor = createAnchor();
    writeFileSync(join(home, 'anchor.crt'), anchor.certPem);
    writeFileSync(join(home, 'anchor.key'), anchor.keyPem);
    for (const cluster of ['west', 'east']) {
      await run([
        ...['local', 'up', '--cluster', cluster],
        ...['--trust-anchor-cert', join(home, 'anchor.crt'), '--trust-anchor-key', join(home, 'anchor.key')],
        ...(NETNS ? ['--netns'] : []),
      ]);
    }
    await run(['mc', 'install', '--context', 'east']);
    await run(['mc', 'link', '--context', 'west', '--target-context', 'east', '--cluster-name', 'east']);
    await run(['local', 'apply', '--context', 'east', '-f', '-'], EXPORTED_HEADLESS);
    await run(
      ['local', 'apply', '--context', 'west', '-f', '-'],
      'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
    );
    for (const pod of PODS) {
      processes.push(
        straitInBackground(home, [
          ...['local', 'run', '--cluster', 'east', '-n', 'shop', '--service-account', 'web'],
          ...['--name', pod, '--label', 'set=web', '--port', 'http=8080', '--ready-path', '/ready'],
          ...['--', process.execPath, ECHO],
        ]),
      );
    }
  });

  after(async () => {
    for (const child of processes.reverse()) await stopProcess(child);
    for (const cluster of ['west', 'east'])
      await strait(home, ['local', 'down', '--cluster', cluster, '--delete']);
    rmSync(home, { recursive: true, force: true });
  });

  it('mirrors the headless service with one endpoint mirror per pod, each at east’s gateway', async () => {
    const headless = await eventually(
      'the headless mirror of web in west with both pods',
      async () => {
        const eps = await read<Endpoints>('west', Kinds.Endpoints, 'web-east');
        const hosts = (eps?.subsets?.[0]?.addresses ?? []).map((a) => a.hostname).sort();
        return hosts.join(',') === PODS.join(',') ? eps : undefined;
      },
      240_000,
    );
    assert.equal((await read<Service>('west', Kinds.Service, 'web-east'))?.spec?.clusterIP, 'None');
    assert.deepEqual(
      headless.subsets?.[0]?.addresses?.map((a) => [a.hostname, a.ip, a.targetRef?.name]),
      PODS.map((pod) => [pod, eastGateway(), `${pod}-east`]),
    );
    assert.equal(headless.subsets?.[0]?.ports?.[0]?.port, 4143);
    for (const pod of PODS) {
      const mirror = await read<Service>('west', Kinds.Service, `${pod}-east`);
      assert.equal(
        mirror?.metadata.annotations?.['mirror.strait.io/remote-svc-fq-name'],
        `${pod}.web.shop.svc.cluster.local`,
      );
      assert.equal(mirror?.metadata.labels?.['mirror.strait.io/headless-mirror-svc-name'], 'web-east');
    }
  });

  for (const pod of PODS) {
    it(`a west workload calling ${pod}.web-east gets the answer of east’s ${pod}`, async () => {
      const stdout = await run([
        ...['local', 'run', '--cluster', 'west', '-n', 'shop', '--service-account', 'caller'],
        ...['--name', `caller-${pod}`, '--', process.execPath, CALL],
        `http://${pod}.web-east.shop.svc.cluster.local:80/`,
      ]);
      assert.equal(stdout, `200 hello from ${pod}\n`);
    });
  }

  it('a west workload calling the headless mirror web-east gets one of east’s pods', async () => {
    const stdout = await run([
      ...['local', 'run', '--cluster', 'west', '-n', 'shop', '--service-account', 'caller'],
      ...['--name', 'caller-any', '--', process.execPath, CALL],
      'http://web-east.shop.svc.cluster.local:80/',
    ]);
    assert.match(stdout, /^200 hello from web-[01]\n$/);
  });

  it('west’s service mirror probes east’s gateway over mTLS as its own identity', async () => {
    const metrics = await (await fetch(`http://${eastGateway()}:4191/metrics`)).text();
    assert.match(
      metrics,
      /gateway_probes_total\{client_id="strait-service-mirror\.strait-multicluster\.serviceaccount\.identity\.strait\.cluster\.local"\} [1-9]/,
    );
  });

  it('a pod that leaves east loses its endpoint mirror; the other pod still answers', async () => {
    await stopProcess(processes[1]);
    await eventually(
      'web-1-east gone from west',
      async () => ((await read<Service>('west', Kinds.Service, 'web-1-east')) ? undefined : true),
      120_000,
    );
    const eps = await read<Endpoints>('west', Kinds.Endpoints, 'web-east');
    assert.deepEqual(
      eps?.subsets?.[0]?.addresses?.map((a) => a.hostname),
      ['web-0'],
    );
    const stdout = await run([
      ...['local', 'run', '--cluster', 'west', '-n', 'shop', '--service-account', 'caller'],
      ...['--name', 'caller-after', '--', process.execPath, CALL],
      'http://web-0.web-east.shop.svc.cluster.local:80/',
    ]);
    assert.equal(stdout, '200 hello from web-0\n');
  });
});
