import { readFileSync } from 'node:fs';
import { DestinationService } from '../../gen/strait/destination/v1/destination_pb.js';
import type { ProxyConfig } from '../../proxy/config.ts';
import { DestinationResolver } from '../../proxy/discovery/destination.ts';
import { StaticResolver } from '../../proxy/discovery/static.ts';
import type { Resolver } from '../../proxy/discovery/types.ts';
import { credentialsFromIdentityService } from '../../proxy/identity/service-credentials.ts';
import { createLogger } from '../../proxy/log.ts';
import { OutboundClient } from '../../proxy/outbound/client.ts';
import { Credentials } from '../../proxy/transport/credentials.ts';
import { createRpcClient } from '../../rpc/client.ts';
import { type GatewayAuthorizationSpec, GatewayConfigError, gatewayAuthorization } from './authorization.ts';
import { createGateway, type Gateway } from './gateway.ts';

/** The gateway process's settings: the proxy's (identity, destination, ports) plus its own. */
export interface GatewayProcessConfig {
  proxy: ProxyConfig;
  clusterDomain: string;
  authorization: GatewayAuthorizationSpec;
}

/**
 * Reads the gateway's own settings from the environment:
 * STRAIT_GATEWAY_CLUSTER_DOMAIN (default cluster.local),
 * STRAIT_GATEWAY_ALLOWED_IDENTITIES and STRAIT_GATEWAY_ALLOWED_NETWORKS
 * (comma-separated; default any meshed client from anywhere).
 */
export function gatewaySettingsFromEnv(env: NodeJS.ProcessEnv): Omit<GatewayProcessConfig, 'proxy'> {
  const list = (value: string | undefined) =>
    (value ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
  return {
    clusterDomain: env.STRAIT_GATEWAY_CLUSTER_DOMAIN || 'cluster.local',
    authorization: {
      identities: list(env.STRAIT_GATEWAY_ALLOWED_IDENTITIES),
      networks: list(env.STRAIT_GATEWAY_ALLOWED_NETWORKS),
    },
  };
}

/**
 * Starts a gateway: data on the proxy's inbound address, probe/admin on its
 * admin address. Its identity comes from files (STRAIT_PROXY_IDENTITY_*) or,
 * as a meshed pod's does, from the identity service (kept fresh).
 */
export async function startGateway(config: GatewayProcessConfig): Promise<Gateway> {
  const { proxy } = config;
  const log = createLogger(proxy.logLevel);
  const identityService =
    !proxy.identity && proxy.identityService
      ? await credentialsFromIdentityService(proxy.identityService, log)
      : undefined;
  const credentials = identityService?.credentials ?? credentialsFromFiles(proxy.identity);
  const resolver: Resolver = proxy.destination
    ? new DestinationResolver(
        createRpcClient(DestinationService, {
          address: proxy.destination.address,
          serverIdentity: proxy.destination.identity,
          tlsSource: credentials.rpcClientTls,
        }),
      )
    : new StaticResolver(proxy.endpoints);
  const gateway = createGateway({
    credentials,
    clusterDomain: config.clusterDomain,
    outbound: new OutboundClient({
      resolver,
      credentials,
      log,
      fallbackDirect: false,
      connectTimeoutMs: proxy.timeouts.connectMs,
      discoveryTimeoutMs: proxy.timeouts.discoveryMs,
    }),
    authorization: gatewayAuthorization(config.authorization),
    log,
    handshakeTimeoutMs: proxy.timeouts.handshakeMs,
  });
  try {
    await gateway.listen({ host: proxy.inbound.host, port: proxy.inbound.port, adminPort: proxy.admin.port });
  } catch (error) {
    identityService?.close();
    throw error;
  }
  if (!identityService) return gateway;
  return {
    counters: gateway.counters,
    listen: gateway.listen,
    async close() {
      identityService.close();
      await gateway.close();
    },
  };
}

function credentialsFromFiles(identity: ProxyConfig['identity']): Credentials {
  if (!identity) {
    throw new GatewayConfigError(
      'the gateway needs an identity',
      'set STRAIT_PROXY_IDENTITY_* (certificate chain, key, trust bundle) or the identity service (STRAIT_PROXY_IDENTITY_ADDR and its token)',
    );
  }
  const read = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw new GatewayConfigError(`cannot read ${file}: ${(error as Error).message}`);
    }
  };
  return new Credentials({
    certChain: read(identity.certFile),
    key: read(identity.keyFile),
    trustBundle: read(identity.trustBundleFile),
  });
}
