import { randomBytes } from 'node:crypto';
import type { Event } from '../../core/api/core.ts';
import type { Resource } from '../../core/resource.ts';
import type { ResourceStore } from '../../core/store.ts';

/** The `source.component` of the operator's Events. */
export const FAILOVER_COMPONENT = 'strait-failover';

/** Writes a v1 Event about `object` in its namespace. */
export async function recordEvent(
  store: ResourceStore,
  object: Resource,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  at: Date,
): Promise<Event> {
  const time = at.toISOString();
  const event: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${object.metadata.name}.${at.getTime().toString(16)}${randomBytes(3).toString('hex')}`,
      namespace: object.metadata.namespace ?? 'default',
    },
    involvedObject: {
      apiVersion: object.apiVersion,
      kind: object.kind,
      name: object.metadata.name,
      ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
      ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
    },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: time,
    lastTimestamp: time,
    source: { component: FAILOVER_COMPONENT },
  };
  return store.create(event);
}
