import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isShortened, MAX_NAME_LENGTH, mirrorName, remoteFqName } from './naming.ts';

describe('mirror naming', () => {
  it('appends the cluster name', () => {
    assert.equal(mirrorName('backend', 'east'), 'backend-east');
    assert.equal(isShortened('backend', 'east'), false);
  });

  it('keeps names of exactly 63 characters', () => {
    const remote = 'a'.repeat(MAX_NAME_LENGTH - 5);
    assert.equal(mirrorName(remote, 'east'), `${remote}-east`);
    assert.equal(isShortened(remote, 'east'), false);
  });

  it('shortens long names deterministically, keeping the cluster suffix', () => {
    const remote = `${'very-long-service-name-'.repeat(3)}end`;
    const name = mirrorName(remote, 'east');
    assert.ok(name.length <= MAX_NAME_LENGTH, name);
    assert.match(name, /^very-long-service-name-.*-[0-9a-f]{8}-east$/);
    assert.equal(mirrorName(remote, 'east'), name);
    assert.equal(isShortened(remote, 'east'), true);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it('gives different long names different mirrors', () => {
    const a = mirrorName(`${'x'.repeat(70)}-a`, 'west');
    const b = mirrorName(`${'x'.repeat(70)}-b`, 'west');
    assert.notEqual(a, b);
  });

  it('builds the remote fully qualified name', () => {
    assert.equal(remoteFqName('backend', 'shop', 'cluster.local'), 'backend.shop.svc.cluster.local');
  });
});
