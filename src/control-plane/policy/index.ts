/** The policy service: per inbound port, which clients a proxy admits. */
export type { DefaultPolicy, NamespacePolicy, PolicyOptions } from './resolve.ts';
export {
  DEFAULT_INBOUND_POLICY_ANNOTATION,
  DEFAULT_POLICIES,
  defaultServer,
  isCidr,
  resolvePortPolicy,
} from './resolve.ts';
export {
  InboundPolicyService,
  InvalidPortSpecError,
  PolicyWatches,
  parsePortSpec,
  policyServiceImpl,
} from './service.ts';
export type { PolicyServiceHandle, PolicyServiceOptions } from './start.ts';
export { PolicyConfigError, startPolicyService } from './start.ts';
export { POLICY_KINDS, PolicyState } from './state.ts';
