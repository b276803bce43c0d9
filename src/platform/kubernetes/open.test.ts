import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadKubeConfig, openKubernetesStore } from './open.ts';

function kubeconfigFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'strait-kubeconfig-')), 'config');
  writeFileSync(path, text);
  return path;
}

const twoClusters = `apiVersion: v1
kind: Config
clusters:
- name: west
  cluster: { server: "https://127.0.0.1:6443/" }
- name: east
  cluster: { server: "https://127.0.0.1:7443" }
users:
- name: admin
  user: { token: abc }
contexts:
- name: west
  context: { cluster: west, user: admin }
- name: east
  context: { cluster: east, user: admin }
current-context: west
`;

test('a context is selected by name, else the current one is used', () => {
  const file = kubeconfigFile(twoClusters);
  assert.equal(openKubernetesStore({ kubeconfig: file }).server, 'https://127.0.0.1:6443');
  assert.equal(openKubernetesStore({ kubeconfig: file, context: 'east' }).server, 'https://127.0.0.1:7443');
});

test('an unknown context names the file and the contexts it has', () => {
  const file = kubeconfigFile(twoClusters);
  assert.throws(
    () => loadKubeConfig({ kubeconfig: file, context: 'north' }),
    (error: Error & { code?: string; hint?: string }) =>
      error.code === 'E_KUBECONFIG' &&
      error.message.includes(file) &&
      error.message.includes('"north"') &&
      error.hint === 'known contexts: west, east',
  );
});

test('an unreadable kubeconfig is a clear E_KUBECONFIG error', () => {
  assert.throws(() => loadKubeConfig({ kubeconfig: '/nonexistent/strait/kubeconfig' }), {
    code: 'E_KUBECONFIG',
    message: /\/nonexistent\/strait\/kubeconfig cannot be read/,
  });
  const broken = kubeconfigFile('clusters: [unclosed');
  assert.throws(() => loadKubeConfig({ kubeconfig: broken }), { code: 'E_KUBECONFIG' });
});
