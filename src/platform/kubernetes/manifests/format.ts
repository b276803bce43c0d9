import { stringify } from 'yaml';
import type { Resource } from '../../../core/resource.ts';

/** Objects as `kubectl apply -f -` takes them: YAML documents separated by `---`, or a JSON v1 List. */
export function formatManifest(resources: Resource[], format: 'yaml' | 'json'): string {
  if (format === 'json') {
    return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: resources }, null, 2)}\n`;
  }
  return resources.map((resource) => `---\n${stringify(resource, { lineWidth: 0 })}`).join('');
}
