import { conditions } from './conditions.ts';
import { labelSelector } from './core.ts';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, DURATION, HTTP_PATH } from './patterns.ts';
import type { Schema } from './schema.ts';
import { boolean, integer, object, resource, string } from './schema.ts';

export const LinkSchema: Schema = resource(
  {
    spec: object(
      {
        targetClusterName: string({ pattern: DNS1123_LABEL, maxLength: 63 }),
        targetClusterDomain: string({ pattern: DNS1123_SUBDOMAIN, default: 'cluster.local' }),
        targetClusterStraitNamespace: string({ pattern: DNS1123_LABEL, default: 'strait' }),
        clusterCredentialsSecret: string({ pattern: DNS1123_SUBDOMAIN, maxLength: 253 }),
        gatewayAddress: string({
          minLength: 1,
          description: 'Gateway addresses (IPs or names), comma-separated.',
        }),
        gatewayPort: integer({ minimum: 1, maximum: 65535, default: 4143 }),
        gatewayIdentity: string({ minLength: 1 }),
        probeSpec: object(
          {
            path: string({ pattern: HTTP_PATH, default: '/ready' }),
            port: integer({ minimum: 1, maximum: 65535, default: 4191 }),
            period: string({ pattern: DURATION, default: '3s' }),
            failureThreshold: integer({ minimum: 1, default: 3 }),
            timeout: string({ pattern: DURATION, default: '2s' }),
          },
          [],
          { default: {} },
        ),
        selector: labelSelector(),
      },
      ['targetClusterName', 'clusterCredentialsSecret', 'gatewayAddress', 'gatewayIdentity'],
    ),
    status: object({
      conditions: conditions(),
      lastSuccessfulSync: string(),
      mirroredServices: integer({ minimum: 0 }),
      gatewayAlive: boolean(),
    }),
  },
  ['spec'],
  'A link from this cluster to a target cluster whose exported services it mirrors.',
);
