/** The failover operator: moves TrafficSplit weights from a failed primary to secondaries and back. */
export {
  FAILOVER_OPERATOR_NAME,
  FailoverController,
  type FailoverControllerOptions,
  isFailoverControlled,
  primaryOf,
} from './controller.ts';
export type { Clock, HealthSample, HealthSource, HealthVerdict } from './health.ts';
export { judgeHealth } from './health.ts';
export {
  defaultFailoverPolicy,
  FailoverAnnotations,
  type FailoverPolicy,
  FailoverPolicyError,
  parseFailoverPolicy,
  TOTAL_WEIGHT,
} from './policy.ts';
export { MetricsFormatError } from './prometheus-text.ts';
export { ProxyTargets, podMetricsUrl, workloadMetricsUrl } from './proxy-targets.ts';
export { backendReadiness, gatewayAlive, isMirror } from './readiness.ts';
export { type ScrapingHealthOptions, ScrapingHealthSource } from './scraping-health.ts';
export {
  type BackendObservation,
  evaluate,
  type FailoverDecision,
  type FailoverMemory,
  type FailoverNotice,
  type FailoverState,
  initialMemory,
  memoryFromStatus,
  type Observation,
} from './state-machine.ts';
