// The control-plane entry points refuse to start on a missing setting or an
// unreadable file: exit 1 with a line naming it. Needs no cluster.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CMD = (name: string) => fileURLToPath(new URL(`../../../src/cmd/${name}.ts`, import.meta.url));
const ANCHOR = fileURLToPath(new URL('../../../testdata/manifests/pki/anchor.crt', import.meta.url));

function run(
  name: string,
  env: NodeJS.ProcessEnv,
  args: string[] = [],
): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [CMD(name), ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, out })));
}

describe('control-plane entry points refuse bad configuration', { timeout: 120_000 }, () => {
  let dir: string;
  const base = (): NodeJS.ProcessEnv => ({
    STRAIT_CONTROL_PLANE_NAMESPACE: 'strait',
    STRAIT_TRUST_DOMAIN: 'cluster.local',
    STRAIT_CLUSTER_DOMAIN: 'cluster.local',
    STRAIT_LISTEN_ADDR: '127.0.0.1:0',
    STRAIT_TRUST_ANCHORS_FILE: ANCHOR,
  });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'strait-cp-startup-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const name of ['identity', 'destination', 'policy']) {
    it(`${name}: a missing variable`, async () => {
      const env = base();
      delete env.STRAIT_LISTEN_ADDR;
      const { code, out } = await run(name, env);
      assert.equal(code, 1);
      assert.match(
        out,
        new RegExp(`${name} cannot start: environment variable STRAIT_LISTEN_ADDR is not set`),
      );
    });
  }

  it('identity: an issuer directory without the Secret files', async () => {
    const { code, out } = await run('identity', { ...base(), STRAIT_IDENTITY_ISSUER_DIR: dir });
    assert.equal(code, 1);
    assert.match(out, /issuer .*tls\.(crt|key): cannot read it \(ENOENT\)/);
  });

  it('destination: an unreadable trust bundle', async () => {
    const { code, out } = await run('destination', {
      ...base(),
      STRAIT_TRUST_ANCHORS_FILE: join(dir, 'absent.crt'),
    });
    assert.equal(code, 1);
    assert.match(out, /STRAIT_TRUST_ANCHORS_FILE: cannot read .*absent\.crt \(ENOENT\)/);
  });

  it('policy: no cluster outside a Pod without a kubeconfig', async () => {
    const { code, out } = await run('policy', base());
    assert.equal(code, 1);
    assert.match(out, /no cluster to serve: not in a Pod and no kubeconfig given.*hint: .*--kubeconfig/);
  });

  it('destination: a kubeconfig context that does not exist', async () => {
    const { code, out } = await run('destination', base(), [
      '--kubeconfig',
      join(dir, 'absent'),
      '--context',
      'x',
    ]);
    assert.equal(code, 1);
    assert.match(out, /kubeconfig .*absent cannot be read/);
  });
});
