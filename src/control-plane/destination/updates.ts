import { create } from '@bufbuild/protobuf';
import {
  type Update,
  UpdateSchema,
  type WeightedAddr,
  WeightedAddrSchema,
} from '../../gen/strait/destination/v1/destination_pb.js';
import type { EndpointAddr, EndpointSet } from './endpoint-set.ts';

/** The first messages of a stream: every endpoint, or NoEndpoints. */
export function snapshotUpdates(set: EndpointSet): Update[] {
  if (set.addrs.size === 0) return [noEndpoints(set.exists)];
  return [addUpdate([...set.addrs.values()], set.labels)];
}

/**
 * Messages that take a proxy from `from` to `to`: Remove for endpoints that
 * went away, Add for new or changed ones, NoEndpoints when the set empties.
 */
export function diffUpdates(from: EndpointSet, to: EndpointSet): Update[] {
  if (to.addrs.size === 0) {
    const updates: Update[] = [];
    if (from.addrs.size > 0) updates.push(removeUpdate([...from.addrs.values()]));
    if (from.addrs.size > 0 || from.exists !== to.exists) updates.push(noEndpoints(to.exists));
    return updates;
  }
  const relabelled = !sameLabels(from.labels, to.labels);
  const removed: EndpointAddr[] = [];
  for (const [key, addr] of from.addrs) if (!to.addrs.has(key)) removed.push(addr);
  const added: EndpointAddr[] = [];
  for (const [key, addr] of to.addrs) {
    const before = from.addrs.get(key);
    if (relabelled || !before || !sameAddr(before, addr)) added.push(addr);
  }
  const updates: Update[] = [];
  if (removed.length > 0) updates.push(removeUpdate(removed));
  if (added.length > 0) updates.push(addUpdate(added, to.labels));
  return updates;
}

/** The proto form of an endpoint. */
export function toWeightedAddr(addr: EndpointAddr): WeightedAddr {
  return create(WeightedAddrSchema, {
    addr: { ip: addr.ip, port: addr.port },
    weight: addr.weight,
    metricLabels: addr.labels,
    tlsIdentity: addr.tlsIdentity,
    protocolHint:
      addr.protocolHint === 'none' ? undefined : { protocol: { case: addr.protocolHint, value: {} } },
    authorityOverride: addr.authorityOverride,
    opaqueTransportPort: addr.opaqueTransportPort,
  });
}

function addUpdate(addrs: EndpointAddr[], labels: Record<string, string>): Update {
  return create(UpdateSchema, {
    update: { case: 'add', value: { addrs: addrs.map(toWeightedAddr), metricLabels: labels } },
  });
}

function removeUpdate(addrs: EndpointAddr[]): Update {
  return create(UpdateSchema, {
    update: { case: 'remove', value: { addrs: addrs.map((a) => ({ ip: a.ip, port: a.port })) } },
  });
}

function noEndpoints(exists: boolean): Update {
  return create(UpdateSchema, { update: { case: 'noEndpoints', value: { exists } } });
}

function sameAddr(a: EndpointAddr, b: EndpointAddr): boolean {
  return (
    a.weight === b.weight &&
    a.tlsIdentity === b.tlsIdentity &&
    a.protocolHint === b.protocolHint &&
    a.authorityOverride === b.authorityOverride &&
    a.opaqueTransportPort === b.opaqueTransportPort &&
    sameLabels(a.labels, b.labels)
  );
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => a[key] === b[key]);
}
