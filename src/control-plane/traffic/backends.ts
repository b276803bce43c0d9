/** A weighted backend of an apex service, in the apex's namespace unless said otherwise. */
export interface WeightedBackend {
  service: string;
  namespace: string;
  weight: number;
  /** Port to call on the backend; absent means the port the client asked for. */
  port?: number;
}

/** Why a set of backends cannot be served. */
export interface BackendProblem {
  /** Stable reason for status conditions and events: `BackendNotFound`, `NegativeWeight`, `AllWeightsZero`, `InvalidWeight`. */
  reason: string;
  message: string;
}

/**
 * Checks backends the way every split source needs them: each one exists,
 * weights are non-negative integers, and at least one is above zero.
 * Returns every problem found, so a status names them all at once.
 */
export function checkBackends(
  backends: readonly WeightedBackend[],
  serviceExists: (namespace: string, name: string) => boolean,
  where: (index: number) => string,
): BackendProblem[] {
  const problems: BackendProblem[] = [];
  if (backends.length === 0) {
    problems.push({ reason: 'NoBackends', message: 'no backends are listed' });
    return problems;
  }
  backends.forEach((backend, index) => {
    if (typeof backend.weight !== 'number' || !Number.isInteger(backend.weight)) {
      problems.push({
        reason: 'InvalidWeight',
        message: `${where(index)}: weight ${JSON.stringify(backend.weight)} is not an integer`,
      });
    } else if (backend.weight < 0) {
      problems.push({
        reason: 'NegativeWeight',
        message: `${where(index)}: weight ${backend.weight} is negative`,
      });
    }
    if (!serviceExists(backend.namespace, backend.service)) {
      problems.push({
        reason: 'BackendNotFound',
        message: `${where(index)}: service ${backend.namespace}/${backend.service} does not exist`,
      });
    }
  });
  if (problems.length === 0 && backends.every((b) => b.weight === 0)) {
    problems.push({
      reason: 'AllWeightsZero',
      message: 'every backend has weight 0, so no traffic could flow',
    });
  }
  return problems;
}
