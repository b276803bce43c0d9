/** Annotations the injector reads, each with the Linkerd name it accepts as an alias. */
export const ANNOTATIONS = {
  inject: ['strait.io/inject', 'linkerd.io/inject'],
  opaquePorts: ['config.strait.io/opaque-ports', 'config.linkerd.io/opaque-ports'],
  skipInboundPorts: ['config.strait.io/skip-inbound-ports', 'config.linkerd.io/skip-inbound-ports'],
  skipOutboundPorts: ['config.strait.io/skip-outbound-ports', 'config.linkerd.io/skip-outbound-ports'],
} as const;

/** Annotations the injector writes on the pods it injects. */
export const PROXY_VERSION_ANNOTATION = 'strait.io/proxy-version';
export const CONTROL_PLANE_NS_LABEL = 'strait.io/control-plane-ns';

export type AnnotationName = keyof typeof ANNOTATIONS;

/** The value and the exact key it was found under (the Strait name wins over the alias). */
export function readAnnotation(
  annotations: Record<string, string> | undefined,
  name: AnnotationName,
): { key: string; value: string } | undefined {
  for (const key of ANNOTATIONS[name]) {
    const value = annotations?.[key];
    if (value !== undefined) return { key, value };
  }
  return undefined;
}

/**
 * The `inject` annotation that decides for a pod, and where it was found: the
 * pod's own wins over its namespace's; `decision` is undefined when neither has one.
 */
export function injectDecision(
  podAnnotations: Record<string, string> | undefined,
  namespaceAnnotations: Record<string, string> | undefined,
): { decision: { key: string; value: string } | undefined; where: 'pod' | 'namespace' } {
  const own = readAnnotation(podAnnotations, 'inject');
  if (own) return { decision: own, where: 'pod' };
  return { decision: readAnnotation(namespaceAnnotations, 'inject'), where: 'namespace' };
}
