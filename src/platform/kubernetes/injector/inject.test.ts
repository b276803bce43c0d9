import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { defaultMeshSettings } from '../manifests/settings.ts';
import { INIT_CONTAINER, type InjectOptions, injectPod, PROXY_CONTAINER } from './inject.ts';
import { injectionPatch } from './patch.ts';

const ANCHORS = '-----BEGIN CERTIFICATE-----\nMIIBanchor\n-----END CERTIFICATE-----\n';
const options: InjectOptions = {
  settings: defaultMeshSettings(),
  version: '0.1.0',
  trustAnchorsPem: ANCHORS,
};

function pod(annotations?: Record<string, string>): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-0', namespace: 'shop', ...(annotations ? { annotations } : {}) },
    spec: {
      serviceAccountName: 'web',
      containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }],
    },
  };
}

const env = (result: V1Pod, name: string) =>
  result.spec?.containers.find((c) => c.name === PROXY_CONTAINER)?.env?.find((e) => e.name === name)?.value;
const initArgs = (result: V1Pod) => result.spec?.initContainers?.find((c) => c.name === INIT_CONTAINER)?.args;

describe('injectPod', () => {
  it('adds the proxy first with the trust anchors inline, proxy-init and the token volume', () => {
    const original = pod({ 'strait.io/inject': 'enabled' });
    const result = injectPod(original, options);
    assert.equal(result.injected, true);
    const spec = result.pod.spec;
    assert.deepEqual(
      spec?.containers.map((c) => c.name),
      [PROXY_CONTAINER, 'web'],
    );
    assert.deepEqual(
      spec?.initContainers?.map((c) => c.name),
      [INIT_CONTAINER],
    );
    const proxy = spec?.containers[0];
    assert.equal(proxy?.securityContext?.runAsUser, 2102);
    assert.equal(proxy?.securityContext?.readOnlyRootFilesystem, true);
    assert.deepEqual(
      proxy?.ports?.map((p) => p.containerPort),
      [4143, 4191, 4190],
    );
    assert.equal(
      env(result.pod, 'STRAIT_PROXY_IDENTITY'),
      '$(_pod_sa).$(_pod_ns).serviceaccount.identity.strait.cluster.local',
    );
    assert.equal(
      env(result.pod, 'STRAIT_PROXY_IDENTITY_ADDR'),
      'strait-identity.strait.svc.cluster.local:8080',
    );
    assert.equal(env(result.pod, 'STRAIT_PROXY_TRANSPARENT'), 'true');
    // The anchors travel in the pod itself: nothing is mounted from the pod's namespace but its token.
    assert.equal(env(result.pod, 'STRAIT_PROXY_TRUST_BUNDLE'), ANCHORS);
    assert.equal(env(result.pod, 'STRAIT_PROXY_TRUST_BUNDLE_FILE'), undefined);
    assert.deepEqual(
      spec?.volumes?.filter((v) => v.configMap),
      [],
    );
    const token = spec?.volumes?.find((v) => v.name === 'strait-identity-token');
    assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'identity.strait.io');
    assert.deepEqual(spec?.initContainers?.[0]?.securityContext?.capabilities?.add, ['NET_ADMIN', 'NET_RAW']);
    assert.equal(result.pod.metadata?.annotations?.['strait.io/proxy-version'], '0.1.0');
    // The input is left as it was.
    assert.equal(original.spec?.containers.length, 1);
  });

  it('takes the decision from the namespace when the pod has none, and the pod wins', () => {
    const enabled = { 'strait.io/inject': 'enabled' };
    assert.equal(injectPod(pod(), { ...options, namespaceAnnotations: enabled }).injected, true);
    const disabled = injectPod(pod({ 'strait.io/inject': 'disabled' }), {
      ...options,
      namespaceAnnotations: enabled,
    });
    assert.equal(disabled.injected, false);
    assert.equal(disabled.reason, 'pod annotation strait.io/inject: disabled');
    assert.equal(injectPod(pod(), options).injected, false);
  });

  it("accepts Linkerd's annotations as aliases", () => {
    const result = injectPod(
      pod({
        'linkerd.io/inject': 'enabled',
        'config.linkerd.io/skip-outbound-ports': '3306',
        'config.linkerd.io/opaque-ports': '5432,6379',
      }),
      options,
    );
    assert.equal(result.injected, true);
    assert.deepEqual(initArgs(result.pod)?.slice(-2), ['--skip-outbound-ports', '3306']);
    assert.equal(env(result.pod, 'STRAIT_PROXY_OPAQUE_PORTS'), '5432,6379');
  });

  it('passes skip ports to proxy-init, pod annotations before the namespace ones', () => {
    const result = injectPod(pod({ 'config.strait.io/skip-inbound-ports': '9000-9002' }), {
      ...options,
      namespaceAnnotations: { 'strait.io/inject': 'enabled', 'config.strait.io/skip-inbound-ports': '1' },
    });
    const args = initArgs(result.pod) ?? [];
    assert.equal(args[args.indexOf('--skip-inbound-ports') + 1], '9000-9002');
  });

  it('leaves an injected pod and a host-network pod alone', () => {
    const once = injectPod(pod({ 'strait.io/inject': 'enabled' }), options).pod;
    const twice = injectPod(once, options);
    assert.equal(twice.injected, false);
    assert.deepEqual(twice.pod, once);
    const host = pod({ 'strait.io/inject': 'enabled' });
    (host.spec as { hostNetwork?: boolean }).hostNetwork = true;
    assert.equal(injectPod(host, options).injected, false);
  });

  it('refuses a malformed port annotation, naming it', () => {
    assert.throws(
      () =>
        injectPod(
          pod({ 'strait.io/inject': 'enabled', 'config.strait.io/skip-inbound-ports': 'ssh' }),
          options,
        ),
      {
        code: 'E_INJECT_ANNOTATION',
        message: 'annotation config.strait.io/skip-inbound-ports: "ssh" is not a port or a port range',
      },
    );
  });
});

describe("the proxy's postStart hook", () => {
  it('returns once /ready answers 200, so the application starts after the proxy', async () => {
    let asked = 0;
    const admin = http.createServer((_req, res) => {
      asked++;
      res.writeHead(asked < 3 ? 503 : 200).end();
    });
    await new Promise<void>((resolve) => admin.listen(0, '127.0.0.1', resolve));
    const { port } = admin.address() as AddressInfo;
    const proxy = injectPod(pod({ 'strait.io/inject': 'enabled' }), options).pod.spec?.containers[0];
    const command = proxy?.lifecycle?.postStart?.exec?.command ?? [];
    assert.equal(command[0], 'node');
    // The hook dials the admin port; here a stand-in admin server on a free port answers.
    const script = (command[2] as string).replace(':4191/', `:${port}/`);
    const hook = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
    const [code] = await once(hook, 'exit');
    admin.close();
    assert.equal(code, 0);
    assert.equal(asked, 3);
  });
});

describe('injectionPatch', () => {
  it('turns the pod into the injected one when applied', () => {
    const original = pod();
    const result = injectPod(original, {
      ...options,
      namespaceAnnotations: { 'strait.io/inject': 'enabled' },
    });
    const patched = structuredClone(original) as unknown as Record<string, Record<string, unknown>>;
    for (const operation of injectionPatch(original, result.pod)) {
      assert.equal(operation.op, 'add');
      const [, top, field] = operation.path.split('/') as [string, string, string];
      (patched[top] as Record<string, unknown>)[field] = operation.value;
    }
    assert.deepEqual(patched, result.pod);
  });
});
