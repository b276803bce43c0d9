import type { KindInfo } from '../kinds.ts';
import type { ObjectMeta } from '../resource.ts';
import type { FieldError } from '../store.ts';
import {
  DNS1035_LABEL,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  LABEL_VALUE,
  PATTERN_MEANING,
  QUALIFIED_NAME,
} from './patterns.ts';

/** How a kind's object names are checked. */
export type NameRule = 'dns1123-label' | 'dns1035-label' | 'dns1123-subdomain' | 'path-segment';

const NAME_RULES: Readonly<Record<string, NameRule>> = {
  'v1/Namespace': 'dns1123-label',
  'v1/Service': 'dns1035-label',
  'rbac.authorization.k8s.io/v1/Role': 'path-segment',
  'rbac.authorization.k8s.io/v1/RoleBinding': 'path-segment',
  'rbac.authorization.k8s.io/v1/ClusterRole': 'path-segment',
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': 'path-segment',
};

/** Total size of all annotations, as Kubernetes limits it. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

export function nameRuleOf(kind: { apiVersion: string; kind: string }): NameRule {
  return NAME_RULES[`${kind.apiVersion}/${kind.kind}`] ?? 'dns1123-subdomain';
}

/** Checks the parts of `metadata` a client writes: name, namespace, labels, annotations, finalizers, owners. */
export function validateMetadata(metadata: ObjectMeta, info: KindInfo): FieldError[] {
  const errors: FieldError[] = [];
  const fail = (field: string, reason: string) => errors.push({ field: `metadata.${field}`, reason });
  const name = checkName(metadata.name, nameRuleOf(info));
  if (name) fail('name', name);
  if (info.namespaced && typeof metadata.namespace === 'string') {
    const namespace = checkName(metadata.namespace, 'dns1123-label');
    if (namespace) fail('namespace', namespace);
  }
  checkStringMap(metadata.labels, 'labels', fail, (value) =>
    value.length > 63
      ? `must be no more than 63 characters (has ${value.length})`
      : new RegExp(LABEL_VALUE).test(value)
        ? undefined
        : `${PATTERN_MEANING[LABEL_VALUE]} (got ${JSON.stringify(value)})`,
  );
  checkStringMap(metadata.annotations, 'annotations', fail, () => undefined);
  const annotationBytes = Object.entries(metadata.annotations ?? {}).reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(String(v)),
    0,
  );
  if (annotationBytes > MAX_ANNOTATIONS_BYTES) {
    fail('annotations', `must be no more than 256 KiB in total (has ${annotationBytes} bytes)`);
  }
  if (metadata.finalizers !== undefined) {
    if (!Array.isArray(metadata.finalizers)) fail('finalizers', 'must be a list of strings');
    else {
      metadata.finalizers.forEach((finalizer, i) => {
        const reason = typeof finalizer === 'string' ? checkQualifiedName(finalizer) : 'must be a string';
        if (reason) fail(`finalizers[${i}]`, reason);
      });
    }
  }
  if (metadata.ownerReferences !== undefined) {
    if (!Array.isArray(metadata.ownerReferences)) fail('ownerReferences', 'must be a list');
    else {
      let controllers = 0;
      metadata.ownerReferences.forEach((owner, i) => {
        for (const field of ['apiVersion', 'kind', 'name', 'uid'] as const) {
          if (typeof owner?.[field] !== 'string' || owner[field] === '') {
            fail(`ownerReferences[${i}].${field}`, 'is required');
          }
        }
        if (owner?.controller === true) controllers++;
      });
      if (controllers > 1) fail('ownerReferences', 'only one reference can have controller set to true');
    }
  }
  return errors;
}

/** Why `name` is not a valid object name under `rule`, or undefined when it is. */
export function checkName(name: unknown, rule: NameRule): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is required';
  switch (rule) {
    case 'path-segment':
      if (name === '.' || name === '..') return `may not be "${name}"`;
      if (/[/%]/.test(name)) return `may not contain "/" or "%" (got ${JSON.stringify(name)})`;
      return undefined;
    case 'dns1123-subdomain':
      if (name.length > 253) return `must be no more than 253 characters (has ${name.length})`;
      return matchOrExplain(name, DNS1123_SUBDOMAIN);
    case 'dns1123-label':
      if (name.length > 63) return `must be no more than 63 characters (has ${name.length})`;
      return matchOrExplain(name, DNS1123_LABEL);
    case 'dns1035-label':
      if (name.length > 63) return `must be no more than 63 characters (has ${name.length})`;
      return matchOrExplain(name, DNS1035_LABEL);
  }
}

/** Why `key` is not a qualified name (`prefix/name`, as label and annotation keys are), or undefined. */
export function checkQualifiedName(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? '' : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix.length > 253) return `has a prefix longer than 253 characters (${JSON.stringify(key)})`;
  if (name.length > 63) return `has a name part longer than 63 characters (${JSON.stringify(key)})`;
  return matchOrExplain(key, QUALIFIED_NAME);
}

function checkStringMap(
  map: unknown,
  field: string,
  fail: (field: string, reason: string) => void,
  checkValue: (value: string) => string | undefined,
): void {
  if (map === undefined) return;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    fail(field, 'must be a map of strings');
    return;
  }
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = checkQualifiedName(key);
    if (keyProblem) fail(`${field}[${key}]`, `key ${keyProblem}`);
    if (typeof value !== 'string')
      fail(`${field}[${key}]`, `must be a string (got ${JSON.stringify(value)})`);
    else {
      const valueProblem = checkValue(value);
      if (valueProblem) fail(`${field}[${key}]`, valueProblem);
    }
  }
}

function matchOrExplain(value: string, pattern: string): string | undefined {
  return new RegExp(pattern).test(value)
    ? undefined
    : `${PATTERN_MEANING[pattern]} (got ${JSON.stringify(value)})`;
}
