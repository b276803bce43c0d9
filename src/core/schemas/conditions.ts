import type { Schema } from './schema.ts';
import { array, integer, object, string } from './schema.ts';

/** `metav1.Condition`. */
export function conditions(): Schema {
  return array(
    object(
      {
        type: string({ minLength: 1, maxLength: 316 }),
        status: string({ enum: ['True', 'False', 'Unknown'] }),
        reason: string({ maxLength: 1024 }),
        message: string({ maxLength: 32768 }),
        lastTransitionTime: string(),
        observedGeneration: integer({ minimum: 0 }),
      },
      ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
    ),
  );
}
