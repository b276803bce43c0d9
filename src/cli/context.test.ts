import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveContext } from './context.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function temporaryDirectory(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

function home(clusters: string[], current?: string): string {
  const dir = temporaryDirectory('strait-context-');
  for (const name of clusters) {
    mkdirSync(join(dir, 'clusters', name), { recursive: true });
    writeFileSync(join(dir, 'clusters', name, 'cluster.json'), JSON.stringify({ name }));
  }
  if (current) writeFileSync(join(dir, 'config'), `current-context: ${current}\n`);
  return dir;
}

function kubeconfig(contexts: string[], current?: string): string {
  const file = join(temporaryDirectory('strait-kubeconfig-'), 'config');
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Config\ncontexts:\n${contexts.map((c) => `  - name: ${c}\n    context: {cluster: c, user: u}\n`).join('')}${
      current ? `current-context: ${current}\n` : ''
    }`,
  );
  return file;
}

describe('resolveContext()', () => {
  it('picks a local cluster by name before a kubeconfig context of the same name', () => {
    const straitHome = home(['west', 'east']);
    const env = { STRAIT_HOME: straitHome, KUBECONFIG: kubeconfig(['west', 'prod']) };
    assert.deepEqual(resolveContext({ context: 'west' }, env), {
      platform: 'local',
      name: 'west',
      dir: join(straitHome, 'clusters', 'west'),
      home: straitHome,
    });
    assert.equal(resolveContext({ context: 'prod' }, env).platform, 'kubernetes');
  });

  it('uses current-context, then the only local cluster, then the kubeconfig current context', () => {
    const config = kubeconfig(['prod'], 'prod');
    assert.equal(
      resolveContext({}, { STRAIT_HOME: home(['west', 'east'], 'east'), KUBECONFIG: config }).name,
      'east',
    );
    assert.equal(resolveContext({}, { STRAIT_HOME: home(['solo']), KUBECONFIG: config }).name, 'solo');
    assert.equal(resolveContext({}, { STRAIT_HOME: home(['a', 'b']), KUBECONFIG: config }).name, 'prod');
    assert.equal(resolveContext({ kubeconfig: config }, { STRAIT_HOME: home([]) }).name, 'prod');
  });

  it('names the missing context and what exists', () => {
    const env = { STRAIT_HOME: home(['west']), KUBECONFIG: kubeconfig([]) };
    assert.throws(() => resolveContext({ context: 'nowhere' }, env), {
      code: 'E_CONTEXT',
      message: /context "nowhere" is neither a local cluster nor a context of/,
      hint: 'local clusters: west',
    });
    assert.throws(() => resolveContext({}, { STRAIT_HOME: home(['a', 'b']), KUBECONFIG: kubeconfig([]) }), {
      code: 'E_CONTEXT',
      message: 'more than one local cluster and no context chosen',
    });
  });
});
