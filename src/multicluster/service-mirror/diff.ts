import { isDeepStrictEqual } from 'node:util';
import type { Endpoints, Service } from '../../core/api/core.ts';
import { Labels } from '../../core/api/names.ts';
import type { Resource } from '../../core/resource.ts';

/** What must happen to bring an existing local object to the desired one. */
export type Change<T extends Resource> =
  | { action: 'create'; object: T }
  | { action: 'update'; object: T }
  /** The object cannot be changed in place (headless ⇄ ClusterIP): delete, then create. */
  | { action: 'replace'; object: T }
  | { action: 'none' };

/** Whether a local object is a mirror made by the link to `clusterName`. */
export function isMirrorOf(object: Resource | undefined, clusterName: string): boolean {
  const labels = object?.metadata.labels;
  return labels?.[Labels.mirroredService] === 'true' && labels[Labels.mirrorClusterName] === clusterName;
}

/** Compares a mirror Service with what it should be. */
export function diffService(actual: Service | undefined, desired: Service): Change<Service> {
  if (!actual) return { action: 'create', object: desired };
  const wantHeadless = desired.spec?.clusterIP === 'None';
  const isHeadless = actual.spec?.clusterIP === 'None';
  if (wantHeadless !== isHeadless) return { action: 'replace', object: desired };
  if (
    sameMetadata(actual, desired) &&
    isDeepStrictEqual(actual.spec?.ports ?? [], desired.spec?.ports ?? []) &&
    actual.spec?.selector === undefined
  ) {
    return { action: 'none' };
  }
  const { selector: _dropped, ...actualSpec } = actual.spec ?? { ports: [] };
  return {
    action: 'update',
    object: {
      ...actual,
      metadata: {
        ...actual.metadata,
        labels: desired.metadata.labels,
        annotations: desired.metadata.annotations,
      },
      spec: { ...actualSpec, ports: desired.spec?.ports ?? [] },
    },
  };
}

/** Compares mirror Endpoints with what they should be. */
export function diffEndpoints(actual: Endpoints | undefined, desired: Endpoints): Change<Endpoints> {
  if (!actual) return { action: 'create', object: desired };
  if (sameMetadata(actual, desired) && isDeepStrictEqual(actual.subsets ?? [], desired.subsets ?? [])) {
    return { action: 'none' };
  }
  return {
    action: 'update',
    object: {
      ...actual,
      metadata: {
        ...actual.metadata,
        labels: desired.metadata.labels,
        annotations: desired.metadata.annotations,
      },
      subsets: desired.subsets ?? [],
    },
  };
}

function sameMetadata(actual: Resource, desired: Resource): boolean {
  return (
    isDeepStrictEqual(actual.metadata.labels ?? {}, desired.metadata.labels ?? {}) &&
    isDeepStrictEqual(actual.metadata.annotations ?? {}, desired.metadata.annotations ?? {})
  );
}
