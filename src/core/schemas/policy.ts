import { labelSelector } from './core.ts';
import { CIDR } from './patterns.ts';
import type { Schema } from './schema.ts';
import { array, intOrString, object, resource, string } from './schema.ts';

const targetRef = () =>
  object(
    { group: string(), kind: string({ minLength: 1 }), name: string({ minLength: 1 }), namespace: string() },
    ['kind', 'name'],
  );

export const ServerSchema: Schema = resource(
  {
    spec: object(
      {
        podSelector: labelSelector(),
        port: intOrString({ description: 'Number, or the name of a workload port.' }),
        proxyProtocol: string({
          enum: ['unknown', 'HTTP/1', 'HTTP/2', 'gRPC', 'opaque', 'TLS'],
          default: 'unknown',
        }),
        accessPolicy: string({
          enum: ['deny', 'all-authenticated', 'all-unauthenticated', 'cluster-authenticated'],
          default: 'deny',
        }),
      },
      ['podSelector', 'port'],
    ),
  },
  ['spec'],
  'A port of selected workloads that policy applies to.',
);

export const AuthorizationPolicySchema: Schema = resource(
  {
    spec: object({ targetRef: targetRef(), requiredAuthenticationRefs: array(targetRef()) }, [
      'targetRef',
      'requiredAuthenticationRefs',
    ]),
  },
  ['spec'],
);

export const MeshTLSAuthenticationSchema: Schema = resource(
  {
    spec: object({ identities: array(string({ minLength: 1 })), identityRefs: array(targetRef()) }),
  },
  ['spec'],
);

export const NetworkAuthenticationSchema: Schema = resource(
  {
    spec: object(
      {
        networks: array(
          object({ cidr: string({ pattern: CIDR }), except: array(string({ pattern: CIDR })) }, ['cidr']),
          {
            minItems: 1,
          },
        ),
      },
      ['networks'],
    ),
  },
  ['spec'],
);
