import type { Schema } from './schema.ts';
import { array, object, resource, string } from './schema.ts';

const rule = () =>
  object(
    {
      verbs: array(string({ minLength: 1 }), { minItems: 1 }),
      apiGroups: array(string()),
      resources: array(string({ minLength: 1 })),
      resourceNames: array(string({ minLength: 1 })),
      nonResourceURLs: array(string()),
    },
    ['verbs'],
  );

export const RoleSchema: Schema = resource({ rules: array(rule()) });

export const RoleBindingSchema: Schema = resource(
  {
    roleRef: object(
      {
        apiGroup: string({ enum: ['rbac.authorization.k8s.io'] }),
        kind: string({ enum: ['Role', 'ClusterRole'] }),
        name: string({ minLength: 1 }),
      },
      ['apiGroup', 'kind', 'name'],
    ),
    subjects: array(
      object(
        {
          kind: string({ enum: ['ServiceAccount', 'User', 'Group'] }),
          name: string({ minLength: 1 }),
          namespace: string(),
          apiGroup: string(),
        },
        ['kind', 'name'],
      ),
    ),
  },
  ['roleRef'],
);
