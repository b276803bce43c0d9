import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EndpointAddr, EndpointSet } from './endpoint-set.ts';
import { diffUpdates, snapshotUpdates } from './updates.ts';

function addr(ip: string, identity = ''): EndpointAddr {
  return {
    ip,
    port: 80,
    weight: 1,
    labels: {},
    tlsIdentity: identity,
    protocolHint: 'none',
    authorityOverride: '',
    opaqueTransportPort: 0,
  };
}

function set(...addrs: EndpointAddr[]): EndpointSet {
  return {
    exists: true,
    labels: { service: 'web' },
    addrs: new Map(addrs.map((a) => [`${a.ip}:${a.port}`, a])),
  };
}

test('a snapshot is one Add, or NoEndpoints when empty', () => {
  const [add] = snapshotUpdates(set(addr('10.0.0.1'), addr('10.0.0.2')));
  assert.equal(add?.update.case, 'add');
  assert.equal(add?.update.case === 'add' && add.update.value.addrs.length, 2);
  const [none] = snapshotUpdates({ exists: false, labels: {}, addrs: new Map() });
  assert.deepEqual(none?.update.case === 'noEndpoints' && none.update.value.exists, false);
});

test('a diff removes what left and adds only what is new or changed', () => {
  const updates = diffUpdates(
    set(addr('10.0.0.1'), addr('10.0.0.2')),
    set(addr('10.0.0.2', 'id'), addr('10.0.0.3')),
  );
  assert.deepEqual(
    updates.map((u) => [
      u.update.case,
      (u.update.value as { addrs: { ip?: string; addr?: { ip: string } }[] }).addrs.map(
        (a) => a.ip ?? a.addr?.ip,
      ),
    ]),
    [
      ['remove', ['10.0.0.1']],
      ['add', ['10.0.0.2', '10.0.0.3']],
    ],
  );
  assert.deepEqual(diffUpdates(set(addr('10.0.0.1')), set(addr('10.0.0.1'))), []);
  const emptied = diffUpdates(set(addr('10.0.0.1')), set());
  assert.deepEqual(
    emptied.map((u) => u.update.case),
    ['remove', 'noEndpoints'],
  );
});
