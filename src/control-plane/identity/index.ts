/** The identity service: signs workload certificates for callers whose platform credential proves their identity. */
export { IssuingAuthority } from './authority.ts';
export type { CertifyEvent } from './certify.ts';
export { CredentialError, type CredentialValidator } from './credential.ts';
export { type IdentityServiceHandle, type IdentityServiceOptions, startIdentityService } from './service.ts';
