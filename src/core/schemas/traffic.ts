import { conditions } from './conditions.ts';
import { DNS1123_SUBDOMAIN, DURATION } from './patterns.ts';
import type { Schema } from './schema.ts';
import { array, integer, object, resource, string } from './schema.ts';

export const TrafficSplitSchema: Schema = resource(
  {
    spec: object(
      {
        service: string({
          pattern: DNS1123_SUBDOMAIN,
          maxLength: 253,
          description: 'The apex service clients call.',
        }),
        backends: array(
          object(
            {
              service: string({ pattern: DNS1123_SUBDOMAIN, maxLength: 253 }),
              weight: integer({ minimum: 0 }),
            },
            ['service', 'weight'],
          ),
          { minItems: 1 },
        ),
      },
      ['service', 'backends'],
    ),
    status: object({
      conditions: conditions(),
      failover: object(
        {
          state: string({ enum: ['Primary', 'Failover', 'FailingBack'] }),
          reason: string(),
          since: string(),
          activeBackends: array(string()),
          flap: object({ score: string({ pattern: '^[0-9]+(\\.[0-9]+)?$' }), at: string() }, ['score', 'at']),
        },
        ['state', 'reason', 'since'],
      ),
    }),
  },
  ['spec'],
);

const parentRef = () =>
  object(
    {
      group: string(),
      kind: string(),
      name: string({ minLength: 1, maxLength: 253 }),
      namespace: string(),
      port: integer({ minimum: 1, maximum: 65535 }),
      sectionName: string(),
    },
    ['name'],
  );

export const HTTPRouteSchema: Schema = resource(
  {
    spec: object({
      parentRefs: array(parentRef(), { maxItems: 32 }),
      hostnames: array(string({ maxLength: 253 })),
      rules: array(
        object({
          matches: array(
            object({
              path: object({
                type: string({ enum: ['PathPrefix', 'Exact', 'RegularExpression'], default: 'PathPrefix' }),
                value: string({ maxLength: 1024, default: '/' }),
              }),
              method: string({
                enum: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH'],
              }),
              headers: array(
                object(
                  {
                    type: string({ enum: ['Exact', 'RegularExpression'], default: 'Exact' }),
                    name: string({ minLength: 1, maxLength: 256 }),
                    value: string({ maxLength: 4096 }),
                  },
                  ['name', 'value'],
                ),
              ),
            }),
          ),
          backendRefs: array(
            object(
              {
                group: string(),
                kind: string(),
                name: string({ minLength: 1, maxLength: 253 }),
                namespace: string(),
                port: integer({ minimum: 1, maximum: 65535 }),
                weight: integer({ minimum: 0, maximum: 1000000, default: 1 }),
              },
              ['name'],
            ),
          ),
          timeouts: object({
            request: string({ pattern: DURATION }),
            backendRequest: string({ pattern: DURATION }),
          }),
        }),
      ),
    }),
    status: object({
      parents: array(
        object(
          {
            parentRef: parentRef(),
            controllerName: string(),
            conditions: conditions(),
          },
          ['parentRef', 'controllerName'],
        ),
      ),
    }),
  },
  ['spec'],
);
