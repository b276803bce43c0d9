/**
 * The subset of OpenAPI v3 that Kubernetes accepts in a structural CRD
 * schema. Every node states its `type` (or is int-or-string, or keeps
 * unknown fields); there is no `$ref`, so a schema can be copied into a CRD
 * as it is.
 */
export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: Schema;
  enum?: (string | number)[];
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-preserve-unknown-fields'?: true;
  /**
   * How server-side apply merges a list: `atomic` (the default) as one value,
   * `set` by item value (scalars), `map` by the item fields in `x-kubernetes-list-map-keys`.
   */
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  /** Fields that identify an item of a `map` list; each is required or has a default. */
  'x-kubernetes-list-map-keys'?: string[];
}

type Extra = Omit<Schema, 'type' | 'properties' | 'required' | 'items' | 'additionalProperties'>;

export function string(extra: Extra = {}): Schema {
  return { type: 'string', ...extra };
}

export function integer(extra: Extra = {}): Schema {
  return { type: 'integer', ...extra };
}

export function boolean(extra: Extra = {}): Schema {
  return { type: 'boolean', ...extra };
}

/** An object with known fields; `required` lists the ones that must be present. */
export function object(
  properties: Record<string, Schema>,
  required: string[] = [],
  extra: Extra = {},
): Schema {
  return required.length > 0
    ? { type: 'object', properties, required, ...extra }
    : { type: 'object', properties, ...extra };
}

/** A map from any string key to `values`. */
export function map(values: Schema, extra: Extra = {}): Schema {
  return { type: 'object', additionalProperties: values, ...extra };
}

export function array(items: Schema, extra: Extra = {}): Schema {
  return { type: 'array', items, ...extra };
}

export function intOrString(extra: Extra = {}): Schema {
  return { 'x-kubernetes-int-or-string': true, ...extra };
}

/** An object whose content is not checked (kept as written). */
export function opaque(extra: Extra = {}): Schema {
  return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, ...extra };
}

/** The whole object of a kind: apiVersion, kind, metadata and the kind's own fields. */
export function resource(
  fields: Record<string, Schema>,
  required: string[] = [],
  description?: string,
): Schema {
  return object(
    { apiVersion: string(), kind: string(), metadata: { type: 'object' }, ...fields },
    required,
    description === undefined ? {} : { description },
  );
}
