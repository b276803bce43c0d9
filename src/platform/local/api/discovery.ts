import { type KindInfo, Kinds } from '../../../core/kinds.ts';
import { groupOf } from '../../../core/resource.ts';

/** The Kubernetes API level the store API mirrors, for `/version` and kubectl's skew check. */
export const KUBERNETES_VERSION = { major: '1', minor: '33' } as const;

/** Verbs the store API serves on every kind (no deletecollection). */
const VERBS = ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'];

/** Aggregated discovery's media type (apidiscovery.k8s.io/v2). */
export const AGGREGATED_DISCOVERY_TYPE =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList';

/** A discovery answer: a JSON body and its content type. */
export interface DiscoveryDocument {
  contentType: string;
  body: unknown;
}

interface GroupVersion {
  group: string;
  version: string;
  kinds: KindInfo[];
}

const groupVersions: GroupVersion[] = (() => {
  const byVersion = new Map<string, GroupVersion>();
  for (const info of Object.values(Kinds)) {
    let entry = byVersion.get(info.apiVersion);
    if (!entry) {
      const group = groupOf(info.apiVersion);
      entry = { group, version: info.apiVersion.slice(group === '' ? 0 : group.length + 1), kinds: [] };
      byVersion.set(info.apiVersion, entry);
    }
    entry.kinds.push(info);
  }
  return [...byVersion.values()];
})();

/** Versions of a group, most preferred first: GA, then beta, then alpha; higher numbers first. */
function versionsOf(group: string): GroupVersion[] {
  return groupVersions
    .filter((gv) => gv.group === group)
    .sort((a, b) => versionRank(b.version) - versionRank(a.version));
}

function versionRank(version: string): number {
  const match = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(version);
  if (!match) return 0;
  const level = match[2] === undefined ? 2 : match[2] === 'beta' ? 1 : 0;
  return level * 1_000_000 + Number(match[1]) * 1000 + Number(match[3] ?? 0);
}

const groupVersionOf = (gv: GroupVersion) => (gv.group === '' ? gv.version : `${gv.group}/${gv.version}`);

/** Whether the client asks for aggregated discovery (kubectl 1.30+ does, falling back to the older documents). */
function wantsAggregated(accept: string | undefined): boolean {
  for (const mediaType of (accept ?? '').split(',')) {
    const params = new Map(
      mediaType
        .split(';')
        .slice(1)
        .map((p) => p.trim().split('=') as [string, string]),
    );
    if (
      params.get('g') === 'apidiscovery.k8s.io' &&
      params.get('v') === 'v2' &&
      params.get('as') === 'APIGroupDiscoveryList'
    ) {
      return true;
    }
  }
  return false;
}

/**
 * The discovery document at `pathname` (`/version`, `/api`, `/apis`,
 * `/api/v1`, `/apis/<group>`, `/apis/<group>/<version>`), or undefined when
 * the path is not one: enough for kubectl to find every kind the store serves.
 */
export function discoveryDocument(
  pathname: string,
  accept: string | undefined,
): DiscoveryDocument | undefined {
  const json = (body: unknown): DiscoveryDocument => ({ contentType: 'application/json', body });
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts.length === 1 && parts[0] === 'version') return json(versionInfo());
  if (parts[0] !== 'api' && parts[0] !== 'apis') return undefined;
  const core = parts[0] === 'api';
  if (parts.length === 1) {
    if (wantsAggregated(accept)) {
      const groups = core ? [''] : [...new Set(groupVersions.map((gv) => gv.group))].filter((g) => g !== '');
      return { contentType: AGGREGATED_DISCOVERY_TYPE, body: aggregatedList(groups) };
    }
    return json(core ? { kind: 'APIVersions', versions: ['v1'] } : groupList());
  }
  if (core) {
    if (parts.length !== 2) return undefined;
    const gv = groupVersions.find((g) => g.group === '' && g.version === parts[1]);
    return gv && json(resourceList(gv));
  }
  const group = parts[1] as string;
  if (parts.length === 2) {
    const versions = versionsOf(group);
    return versions.length > 0
      ? json({ kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group) })
      : undefined;
  }
  if (parts.length !== 3) return undefined;
  const gv = groupVersions.find((g) => g.group === group && g.version === parts[2]);
  return gv && json(resourceList(gv));
}

function versionInfo() {
  return {
    ...KUBERNETES_VERSION,
    gitVersion: `v${KUBERNETES_VERSION.major}.${KUBERNETES_VERSION.minor}.0+strait`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: '',
    compiler: 'node',
    platform: `${process.platform}/${process.arch}`,
  };
}

function groupEntry(group: string) {
  const versions = versionsOf(group).map((gv) => ({ groupVersion: groupVersionOf(gv), version: gv.version }));
  return { name: group, versions, preferredVersion: versions[0] };
}

function groupList() {
  const groups = [...new Set(groupVersions.map((gv) => gv.group))].filter((g) => g !== '');
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(groupEntry) };
}

function resourceList(gv: GroupVersion) {
  const resources: object[] = [];
  for (const info of gv.kinds) {
    resources.push({
      name: info.plural,
      singularName: info.kind.toLowerCase(),
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: VERBS,
      ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
    });
    for (const sub of subresourcesOf(info)) {
      resources.push({
        name: `${info.plural}/${sub.subresource}`,
        singularName: '',
        namespaced: info.namespaced,
        ...(sub.group === gv.group ? {} : { group: sub.group, version: sub.version }),
        kind: sub.kind,
        verbs: sub.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersionOf(gv), resources };
}

/** `status` for kinds with that subresource; `token` (a TokenRequest) for ServiceAccounts. */
function subresourcesOf(info: KindInfo) {
  const group = groupOf(info.apiVersion);
  const version = info.apiVersion.slice(group === '' ? 0 : group.length + 1);
  const subresources: {
    subresource: string;
    group: string;
    version: string;
    kind: string;
    verbs: string[];
  }[] = [];
  if (info.hasStatus)
    subresources.push({ subresource: 'status', group, version, kind: info.kind, verbs: ['get', 'update'] });
  if (info.kind === 'ServiceAccount' && info.apiVersion === 'v1') {
    subresources.push({
      subresource: 'token',
      group: 'authentication.k8s.io',
      version: 'v1',
      kind: 'TokenRequest',
      verbs: ['create'],
    });
  }
  return subresources;
}

/** An APIGroupDiscoveryList (apidiscovery.k8s.io/v2) of `groups` (`''` for the core group). */
function aggregatedList(groups: string[]) {
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: 'apidiscovery.k8s.io/v2',
    metadata: {},
    items: groups.map((group) => ({
      metadata: { name: group },
      versions: versionsOf(group).map((gv) => ({
        version: gv.version,
        freshness: 'Current',
        resources: gv.kinds.map((info) => ({
          resource: info.plural,
          responseKind: { group, version: gv.version, kind: info.kind },
          scope: info.namespaced ? 'Namespaced' : 'Cluster',
          singularResource: info.kind.toLowerCase(),
          verbs: VERBS,
          ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
          subresources: subresourcesOf(info).map((sub) => ({
            subresource: sub.subresource,
            responseKind: { group: sub.group, version: sub.version, kind: sub.kind },
            verbs: sub.verbs,
          })),
        })),
      })),
    })),
  };
}
