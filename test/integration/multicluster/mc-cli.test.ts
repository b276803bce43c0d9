import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { strait } from '../../fixtures/strait-cli.ts';

describe('strait mc: usage and bad input', () => {
  const home = mkdtempSync(join(tmpdir(), 'strait-mc-cli-'));
  after(() => rmSync(home, { recursive: true, force: true }));

  it('exits 2 with the flag named when a required flag is missing or malformed', async () => {
    const missing = await strait(home, ['mc', 'link-gen']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--cluster-name is required/);
    const badName = await strait(home, ['mc', 'link-gen', '--cluster-name', 'East_1']);
    assert.equal(badName.code, 2);
    assert.match(badName.stderr, /--cluster-name "East_1" must be a DNS label/);
    const badAllow = await strait(home, ['mc', 'allow', '--name', 'Bad_1', '-o', 'yaml']);
    assert.equal(badAllow.code, 2);
    const unknownFlag = await strait(home, ['mc', 'gateways', '--bogus']);
    assert.equal(unknownFlag.code, 2);
  });

  it('exits 1 with a hint when the context names no cluster', async () => {
    const result = await strait(home, ['mc', 'gateways', '--context', 'nowhere']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /context "nowhere"/);
  });

  it('prints a credential’s manifests without a cluster', async () => {
    const result = await strait(home, ['mc', 'allow', '--name', 'north', '-o', 'yaml']);
    assert.equal(result.code, 0, result.stderr);
    const documents = parseAllDocuments(result.stdout).map((d) => d.toJSON());
    assert.deepEqual(
      documents.map((d) => [d.kind, d.metadata.name]),
      [
        ['ServiceAccount', 'strait-mirror-remote-access-north'],
        ['ClusterRoleBinding', 'strait-mirror-remote-access-north'],
        ['Role', 'strait-mirror-remote-access-north-token'],
        ['RoleBinding', 'strait-mirror-remote-access-north-token'],
      ],
    );
    // The credential may request tokens for itself (renewal) and nothing else.
    assert.deepEqual(documents[2].rules, [
      {
        apiGroups: [''],
        resources: ['serviceaccounts/token'],
        verbs: ['create'],
        resourceNames: ['strait-mirror-remote-access-north'],
      },
    ]);
    assert.deepEqual(documents[1].roleRef, {
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'strait-mirror-remote-access',
    });
  });
});
