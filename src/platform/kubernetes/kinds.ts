import type { KindInfo } from '../../core/kinds.ts';

/** Kinds only the Kubernetes platform serves; pass them to KubernetesStore as `extraKinds`. */
export const KubernetesKinds = {
  Node: {
    apiVersion: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    hasStatus: true,
    shortNames: ['no'],
  },
  EndpointSlice: {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    plural: 'endpointslices',
    namespaced: true,
    hasStatus: false,
    shortNames: [],
  },
  CustomResourceDefinition: {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    plural: 'customresourcedefinitions',
    namespaced: false,
    hasStatus: true,
    shortNames: ['crd'],
  },
} as const satisfies Record<string, KindInfo>;
