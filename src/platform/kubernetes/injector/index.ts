export {
  ANNOTATIONS,
  CONTROL_PLANE_NS_LABEL,
  injectDecision,
  PROXY_VERSION_ANNOTATION,
  readAnnotation,
} from './annotations.ts';
export {
  hasProxy,
  INIT_CONTAINER,
  InjectAnnotationError,
  type InjectOptions,
  type InjectResult,
  injectPod,
  PROXY_CONTAINER,
  PROXY_PORTS,
} from './inject.ts';
export { injectionPatch, type JsonPatchOperation } from './patch.ts';
export { readTrustAnchors, TrustAnchorsUnavailableError } from './trust-anchors.ts';
export {
  INJECT_PATH,
  type InjectorWebhook,
  type InjectorWebhookOptions,
  startInjectorWebhook,
} from './webhook.ts';
export { type InjectReport, injectManifest, type ManifestValue } from './workloads.ts';
