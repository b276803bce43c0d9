/** A status condition, as in Kubernetes' `metav1.Condition`. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

/** Returns conditions with `next` set, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'> & { lastTransitionTime?: string },
  now: Date = new Date(),
): Condition[] {
  const list = [...(conditions ?? [])];
  const index = list.findIndex((c) => c.type === next.type);
  const previous = index === -1 ? undefined : list[index];
  const lastTransitionTime =
    previous && previous.status === next.status
      ? previous.lastTransitionTime
      : (next.lastTransitionTime ?? now.toISOString());
  const condition: Condition = { ...next, lastTransitionTime };
  if (index === -1) list.push(condition);
  else list[index] = condition;
  return list;
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: string,
): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
