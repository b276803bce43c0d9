import { readFileSync } from 'node:fs';
import type { ProxyConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { Credentials, type IdentityMaterial } from '../transport/credentials.ts';
import { IdentityClient } from './client.ts';
import { tokenFromFile } from './token-file.ts';

/**
 * Gets the first certificate from the identity service (retrying until it
 * comes) and keeps the credentials fresh afterwards.
 */
export async function credentialsFromIdentityService(
  settings: NonNullable<ProxyConfig['identityService']>,
  log: Logger,
): Promise<{ credentials: Credentials; close(): void }> {
  const trustBundle = settings.trustBundlePem ?? readFileSync(settings.trustBundleFile as string, 'utf8');
  const client = new IdentityClient({
    address: settings.address,
    serverIdentity: settings.serverIdentity,
    trustBundlePem: trustBundle,
    identity: settings.identity,
    token: tokenFromFile(settings.tokenFile),
  });
  client.onError((error) => log.warn('identity request failed; retrying', { error: error.message }));
  const material = (c: { chainPem: string; keyPem: string; trustBundlePem: string }): IdentityMaterial => ({
    certChain: c.chainPem,
    key: c.keyPem,
    trustBundle: c.trustBundlePem,
  });
  log.info('requesting a workload certificate', { identity: settings.identity, from: settings.address });
  const credentials = new Credentials(material(await client.start()));
  client.onCredentials((fresh) => {
    try {
      credentials.update(material(fresh));
      log.info('workload certificate renewed', { notAfter: fresh.notAfter.toISOString() });
    } catch (error) {
      log.error('renewed certificate is unusable; keeping the current one', {
        error: (error as Error).message,
      });
    }
  });
  return { credentials, close: () => client.close() };
}
