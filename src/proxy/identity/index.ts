/** How a proxy gets and keeps its workload identity, and checks its peers'. */
export { CertifyError, type IdentityEndpoint, requestCredentials } from './certify.ts';
export { IdentityClient, type IdentityClientOptions, refreshDelayMs } from './client.ts';
export { secureContextOptions, type WorkloadCredentials } from './credentials.ts';
export { tokenFromFile } from './token-file.ts';
export { expectIdentity, PeerVerifier, presentedChain } from './verifier.ts';
