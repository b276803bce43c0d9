import type { Resource } from '../../../core/resource.ts';

/** A Service spec as stored: with the defaults the schema fills in. */
export function serviceSpec(port = 80): Record<string, unknown> {
  return { ports: [{ port, protocol: 'TCP' }], type: 'ClusterIP' };
}

/** A Service object for tests in this directory. */
export function service(name: string, namespace = 'default', labels?: Record<string, string>): Resource {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: labels ? { name, namespace, labels } : { name, namespace },
    spec: serviceSpec(),
  };
}

export function configMap(name: string, namespace = 'default', data: Record<string, string> = {}): Resource {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** Collects the events of a watch until `count` arrived, then stops it. */
export async function take<T>(iterable: AsyncIterable<T>, count: number): Promise<T[]> {
  const events: T[] = [];
  if (count === 0) return events;
  for await (const event of iterable) {
    events.push(event);
    if (events.length === count) break;
  }
  return events;
}
