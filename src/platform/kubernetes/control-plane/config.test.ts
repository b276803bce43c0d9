import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ControlPlaneConfigError, parseListenAddress, readControlPlaneEnv } from './config.ts';

const ANCHOR = fileURLToPath(new URL('../../../../testdata/manifests/pki/anchor.crt', import.meta.url));

describe('control-plane environment', () => {
  let dir: string;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    STRAIT_CONTROL_PLANE_NAMESPACE: 'mesh',
    STRAIT_TRUST_DOMAIN: 'example.org',
    STRAIT_CLUSTER_DOMAIN: 'cluster.example',
    STRAIT_LISTEN_ADDR: '0.0.0.0:8086',
    STRAIT_TRUST_ANCHORS_FILE: ANCHOR,
    ...extra,
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-cp-env-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads the settings the manifests set, and --kubeconfig/--context', () => {
    const read = readControlPlaneEnv(env(), ['--kubeconfig', '/k', '--context', 'west']);
    assert.equal(read.settings.controlPlaneNamespace, 'mesh');
    assert.equal(read.settings.trustDomain, 'example.org');
    assert.equal(read.settings.clusterDomain, 'cluster.example');
    assert.equal(read.host, '0.0.0.0');
    assert.equal(read.port, 8086);
    assert.match(read.trustAnchorsPem, /BEGIN CERTIFICATE/);
    assert.deepEqual(read.kube, { kubeconfig: '/k', context: 'west' });
  });

  it('takes the kubeconfig from KUBECONFIG when no flag names one', () => {
    assert.equal(readControlPlaneEnv(env({ KUBECONFIG: '/from-env' }), []).kube.kubeconfig, '/from-env');
    assert.equal(readControlPlaneEnv(env(), []).kube.kubeconfig, undefined);
  });

  it('names a missing variable', () => {
    const missing = env();
    delete missing.STRAIT_TRUST_DOMAIN;
    assert.throws(
      () => readControlPlaneEnv(missing, []),
      (error: unknown) =>
        error instanceof ControlPlaneConfigError &&
        error.code === 'E_CONTROL_PLANE_CONFIG' &&
        /STRAIT_TRUST_DOMAIN is not set/.test(error.message),
    );
  });

  it('names an unreadable or malformed trust bundle', async () => {
    assert.throws(
      () => readControlPlaneEnv(env({ STRAIT_TRUST_ANCHORS_FILE: join(dir, 'absent.crt') }), []),
      /STRAIT_TRUST_ANCHORS_FILE: cannot read .*absent\.crt \(ENOENT\)/,
    );
    const garbage = join(dir, 'garbage.crt');
    await writeFile(garbage, 'not a certificate');
    assert.throws(
      () => readControlPlaneEnv(env({ STRAIT_TRUST_ANCHORS_FILE: garbage }), []),
      /STRAIT_TRUST_ANCHORS_FILE is not a trust bundle/,
    );
  });

  it('refuses an unknown flag as a configuration error', () => {
    assert.throws(() => readControlPlaneEnv(env(), ['--kubecontext', 'x']), ControlPlaneConfigError);
  });

  it('parses host:port, IPv6 in brackets included', () => {
    assert.deepEqual(parseListenAddress('A', '127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('A', '[::]:8080'), { host: '::', port: 8080 });
    assert.throws(() => parseListenAddress('A', '8080'), /A "8080" is not host:port/);
    assert.throws(() => parseListenAddress('A', 'host:70000'), /is not host:port/);
    assert.throws(() => parseListenAddress('A', ':80'), /is not host:port/);
  });
});
