import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { setCondition } from '../../core/api/conditions.ts';
import type { Event } from '../../core/api/core.ts';
import type { Link, LinkStatus } from '../../core/api/multicluster.ts';
import { Kinds } from '../../core/kinds.ts';
import type { ResourceStore } from '../../core/store.ts';

/** What the controller knows, to be shown in the Link's status. */
export interface LinkState {
  connected: boolean;
  /** Why the target cannot be reached, while it cannot. */
  remoteError?: string;
  lastSuccessfulSync?: string;
  mirroredServices: number;
  gatewayAlive: boolean;
  /** `ns/name` of exported services waiting for their namespace. */
  missingNamespace: string[];
  /** `ns/name` of local Services in the way of a mirror. */
  nameConflicts: string[];
}

/** The Link status for a state: conditions `Synced` and `Mirrored`, counts and times. */
export function linkStatus(previous: LinkStatus | undefined, state: LinkState, now = new Date()): LinkStatus {
  let conditions = setCondition(
    previous?.conditions,
    state.connected
      ? { type: 'Synced', status: 'True', reason: 'Synced', message: 'mirrors follow the target cluster' }
      : {
          type: 'Synced',
          status: 'False',
          reason: 'RemoteUnreachable',
          message: `cannot reach the target cluster (${state.remoteError ?? 'unknown error'}); ${state.mirroredServices} mirrors kept and may be stale`,
        },
    now,
  );
  const problems: string[] = [];
  if (state.missingNamespace.length) {
    problems.push(`waiting for their namespace: ${state.missingNamespace.join(', ')}`);
  }
  if (state.nameConflicts.length) {
    problems.push(`a Service that is not a mirror has the name: ${state.nameConflicts.join(', ')}`);
  }
  conditions = setCondition(
    conditions,
    problems.length === 0
      ? {
          type: 'Mirrored',
          status: 'True',
          reason: 'AllMirrored',
          message: 'every exported service is mirrored',
        }
      : {
          type: 'Mirrored',
          status: 'False',
          reason: state.missingNamespace.length ? 'MissingNamespace' : 'NameConflict',
          message: `not mirrored: ${problems.join('; ')}`,
        },
    now,
  );
  const status: LinkStatus = {
    conditions,
    mirroredServices: state.mirroredServices,
    gatewayAlive: state.gatewayAlive,
  };
  const lastSync = state.lastSuccessfulSync ?? previous?.lastSuccessfulSync;
  if (lastSync) status.lastSuccessfulSync = lastSync;
  return status;
}

/** Writes the Link's status when it changed; retries on conflicting writes. */
export async function writeLinkStatus(store: ResourceStore, link: Link, state: LinkState): Promise<void> {
  const ref = { ...Kinds.Link, name: link.metadata.name, namespace: link.metadata.namespace ?? 'default' };
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.get<Link>({
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      name: ref.name,
      namespace: ref.namespace,
    });
    if (!current) return;
    const status = linkStatus(current.status, state);
    if (isDeepStrictEqual(status, current.status)) return;
    try {
      await store.updateStatus<Link>({ ...current, status });
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'E_CONFLICT') throw error;
    }
  }
}

/** Records a v1 Event about the Link. */
export async function recordLinkEvent(
  store: ResourceStore,
  link: Link,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
): Promise<void> {
  const now = new Date().toISOString();
  const namespace = link.metadata.namespace ?? 'default';
  const event: Event = {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: `${link.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
    involvedObject: {
      apiVersion: link.apiVersion,
      kind: link.kind,
      name: link.metadata.name,
      namespace,
      ...(link.metadata.uid ? { uid: link.metadata.uid } : {}),
    },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: now,
    lastTimestamp: now,
    source: { component: 'strait-service-mirror' },
  };
  await store.create(event);
}
