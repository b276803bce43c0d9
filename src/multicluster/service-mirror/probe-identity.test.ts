import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createAnchor, createIssuer } from '../../pki/index.ts';
import { dnsSan } from '../../proxy/transport/credentials.ts';
import { serviceMirrorIdentity } from '../link/manifests.ts';
import { issuedProbeIdentity } from './probe-identity.ts';

const anchor = createAnchor();
const issuer = createIssuer({
  anchor: { certPem: anchor.certPem, keyPem: anchor.keyPem },
  name: 'identity.west',
});
const HOUR = 60 * 60 * 1000;

describe('issuedProbeIdentity', () => {
  it('issues the service mirror identity and keeps it until two thirds of its life', () => {
    let now = Date.now();
    let issued = 0;
    const identity = issuedProbeIdentity({
      identity: serviceMirrorIdentity('strait', 'cluster.local'),
      issuer: () => {
        issued++;
        return issuer;
      },
      trustBundle: () => anchor.certPem,
      now: () => now,
    });
    const first = identity();
    const leaf = new X509Certificate(first.certChain);
    assert.equal(
      dnsSan(leaf.subjectAltName),
      'strait-service-mirror.strait-multicluster.serviceaccount.identity.strait.cluster.local',
    );
    assert.equal(leaf.checkIssued(new X509Certificate(issuer.certPem)), true);
    assert.equal(first.trustBundle, anchor.certPem);
    now += 15 * HOUR;
    assert.equal(identity(), first);
    now += 2 * HOUR;
    const renewed = identity();
    assert.notEqual(renewed.certChain, first.certChain);
    assert.equal(issued, 2);
  });
});
