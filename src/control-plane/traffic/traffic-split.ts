import type { TrafficSplit } from '../../core/api/traffic.ts';
import { type BackendProblem, checkBackends, type WeightedBackend } from './backends.ts';

/** The backends a TrafficSplit asks for, or the problems that stop it from being served. */
export interface SplitResolution {
  backends: WeightedBackend[];
  problems: BackendProblem[];
}

/** Reads and checks a TrafficSplit (`spec.service` is the apex, `spec.backends` the weighted services). */
export function resolveTrafficSplit(
  split: TrafficSplit,
  serviceExists: (namespace: string, name: string) => boolean,
): SplitResolution {
  const namespace = split.metadata.namespace ?? 'default';
  const raw = Array.isArray(split.spec?.backends) ? split.spec.backends : [];
  const backends = raw.map((b) => ({ service: String(b?.service ?? ''), namespace, weight: b?.weight }));
  const problems = checkBackends(backends, serviceExists, (i) => `spec.backends[${i}]`);
  if (!split.spec?.service) {
    problems.unshift({ reason: 'NoApexService', message: 'spec.service (the apex service) is empty' });
  }
  return { backends, problems };
}

/** Oldest first, then by name: the order in which TrafficSplits for the same apex take precedence. */
export function byAge(a: { metadata: { creationTimestamp?: string; name: string } }, b: typeof a): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
}
