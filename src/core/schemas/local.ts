import { DNS1123_SUBDOMAIN, HTTP_PATH, IANA_SVC_NAME, IP } from './patterns.ts';
import type { Schema } from './schema.ts';
import { array, boolean, integer, object, resource, string } from './schema.ts';

const port = () => integer({ minimum: 1, maximum: 65535 });

export const WorkloadSchema: Schema = resource(
  {
    spec: object(
      {
        serviceAccountName: string({ pattern: DNS1123_SUBDOMAIN, maxLength: 253 }),
        command: array(string()),
        ports: array(
          object(
            {
              name: string({ pattern: IANA_SVC_NAME, maxLength: 15 }),
              port: port(),
              protocol: string({ enum: ['TCP'], default: 'TCP' }),
            },
            ['port'],
          ),
          { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['port', 'protocol'] },
        ),
        readinessPath: string({ pattern: HTTP_PATH }),
        address: string({ pattern: IP }),
        proxy: object({ inboundPort: port(), outboundPort: port(), adminPort: port() }, [
          'inboundPort',
          'outboundPort',
          'adminPort',
        ]),
      },
      ['serviceAccountName', 'ports'],
    ),
    status: object({
      phase: string({ enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }),
      address: string({ pattern: IP }),
      ready: boolean(),
      proxyReady: boolean(),
      appReady: boolean(),
      pid: integer({ minimum: 0 }),
      proxyPid: integer({ minimum: 0 }),
      startedAt: string(),
      message: string(),
    }),
  },
  ['spec'],
  'An application process with its proxy, run by the local platform.',
);
