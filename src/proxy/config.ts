import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Endpoint } from './discovery/types.ts';
import { ProxyConfigError } from './errors.ts';
import { isLogLevel, type LogLevel } from './log.ts';
import type { Authentication, Authorization, PortPolicy } from './policy/authorize.ts';
import { DEFAULT_TRUSTED_FORWARDERS } from './policy/identity-match.ts';
import { DEFAULT_TAP_CLIENTS } from './tap/authorize.ts';

export interface ListenAddress {
  host: string;
  port: number;
}

/** A local port that sends everything to one service (plain hosts). */
export interface ServiceListener extends ListenAddress {
  target: string;
}

/** Everything the proxy process needs; see `loadProxyConfig` for the sources. */
export interface ProxyConfig {
  logLevel: LogLevel;
  /** Static identity material (files). */
  identity?: { certFile: string; keyFile: string; trustBundleFile: string };
  /** Identity from the control plane: a CSR and the platform token sent to the identity service. */
  identityService?: {
    address: string;
    /** The service's own identity (TLS server name). */
    serverIdentity: string;
    /** A file holding the trust anchors (PEM); `trustBundlePem` instead carries them inline. */
    trustBundleFile?: string;
    /** The trust anchors themselves (PEM), as an injected pod's environment carries them. */
    trustBundlePem?: string;
    /** The workload identity to request. */
    identity: string;
    tokenFile: string;
  };
  /**
   * `perRequest`: serve HTTP connections to the application request by request (metrics,
   * tap, `strait-client-id`); false relays their bytes.
   */
  inbound: ListenAddress & { appHost: string; appPort?: number; perRequest: boolean };
  outbound: ListenAddress & { listeners: ServiceListener[] };
  admin: ListenAddress;
  /** `clients`: identities admitted to a tap on a non-loopback address (served over mTLS). */
  tap: ListenAddress & { clients: string[] };
  /** Ports whose traffic is opaque TCP: no detection (server-speaks-first protocols). */
  opaquePorts: number[];
  destination?: { address: string; identity: string };
  policyService?: { address: string; identity: string; workload: string };
  /** Static discovery: target authority → endpoints. */
  endpoints: Record<string, Endpoint[]>;
  /** Static inbound policy by port ("default" applies to the rest). */
  policy: Record<string, PortPolicy>;
  trustedForwarders: string[];
  /** Send traffic for targets discovery does not know straight to their address. */
  fallbackDirect: boolean;
  /**
   * Connections arrive through iptables REDIRECT: the target is the original
   * destination (SO_ORIGINAL_DST), outbound and inbound.
   */
  transparent: boolean;
  /** Carry HTTP/1.1 between proxies as HTTP/2 streams (off by default; see the benchmark). */
  http1OverH2: boolean;
  timeouts: {
    detectMs: number;
    connectMs: number;
    handshakeMs: number;
    discoveryMs: number;
    /** 0: no request timeout. */
    requestMs: number;
    /** Opaque connections with no bytes either way this long are closed; 0: never. */
    idleMs: number;
    drainMs: number;
  };
  retries: { limit: number; retryRatio: number; minRetriesPerSecond: number; ttlMs: number };
  /** How often freed malloc memory goes back to the kernel (see memory-trim.ts); 0: never. */
  memoryTrimMs: number;
  /**
   * CPU time after which V8's compiler threads run at idle priority (see
   * idle-compilers.ts); 0: never.
   */
  idleCompilersAfterMs: number;
  /** CPU time after the start after which V8's heap runs in memory-saver mode (see memory-saver.ts); 0: never. */
  memorySaverAfterMs: number;
}

/** Linkerd's default opaque ports: SMTP, MySQL, Galera, PostgreSQL, Redis, Elasticsearch, Memcached. */
export const DEFAULT_OPAQUE_PORTS = [25, 587, 3306, 4444, 5432, 6379, 9300, 11211];

export function defaultProxyConfig(): ProxyConfig {
  return {
    logLevel: 'info',
    inbound: { host: '0.0.0.0', port: 4143, appHost: '127.0.0.1', perRequest: true },
    outbound: { host: '127.0.0.1', port: 4140, listeners: [] },
    admin: { host: '127.0.0.1', port: 4191 },
    tap: { host: '127.0.0.1', port: 4190, clients: [...DEFAULT_TAP_CLIENTS] },
    opaquePorts: [...DEFAULT_OPAQUE_PORTS],
    endpoints: {},
    policy: {},
    trustedForwarders: [...DEFAULT_TRUSTED_FORWARDERS],
    fallbackDirect: true,
    transparent: false,
    http1OverH2: false,
    timeouts: {
      detectMs: 10_000,
      connectMs: 1000,
      handshakeMs: 10_000,
      discoveryMs: 3000,
      requestMs: 0,
      idleMs: 0,
      drainMs: 10_000,
    },
    retries: { limit: 1, retryRatio: 0.2, minRetriesPerSecond: 10, ttlMs: 10_000 },
    memoryTrimMs: 3000,
    idleCompilersAfterMs: 15_000,
    memorySaverAfterMs: 200,
  };
}

/**
 * Builds the configuration from defaults, then the file named by
 * STRAIT_PROXY_CONFIG (JSON or YAML, same shape as ProxyConfig), then
 * STRAIT_PROXY_* variables, which win. Throws ProxyConfigError naming the
 * offending input.
 */
export function loadProxyConfig(env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const config = defaultProxyConfig();
  const file = env.STRAIT_PROXY_CONFIG;
  if (file) mergeFile(config, file);
  applyEnv(config, env);
  return config;
}

function mergeFile(config: ProxyConfig, file: string): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProxyConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ProxyConfigError(`config file ${file} is not valid JSON/YAML: ${(error as Error).message}`);
  }
  applyObject(config, raw ?? {}, file);
}

/** Applies a parsed config object (file shape) on top of `config`, validating as it goes. */
export function applyObject(config: ProxyConfig, raw: unknown, source: string): void {
  const o = object(raw, source);
  const at = (key: string) => `${source}: ${key}`;
  if (o.logLevel !== undefined) config.logLevel = logLevel(o.logLevel, at('logLevel'));
  if (o.identity !== undefined) {
    const i = object(o.identity, at('identity'));
    config.identity = {
      certFile: string(i.certFile, at('identity.certFile')),
      keyFile: string(i.keyFile, at('identity.keyFile')),
      trustBundleFile: string(i.trustBundleFile, at('identity.trustBundleFile')),
    };
  }
  if (o.identityService !== undefined) {
    const i = object(o.identityService, at('identityService'));
    config.identityService = {
      address: string(i.address, at('identityService.address')),
      serverIdentity: string(i.serverIdentity, at('identityService.serverIdentity')),
      trustBundleFile: string(i.trustBundleFile, at('identityService.trustBundleFile')),
      identity: string(i.identity, at('identityService.identity')),
      tokenFile: string(i.tokenFile, at('identityService.tokenFile')),
    };
  }
  if (o.inbound !== undefined) {
    const i = object(o.inbound, at('inbound'));
    listen(config.inbound, i, at('inbound'));
    if (i.appHost !== undefined) config.inbound.appHost = string(i.appHost, at('inbound.appHost'));
    if (i.appPort !== undefined) config.inbound.appPort = port(i.appPort, at('inbound.appPort'));
    if (i.perRequest !== undefined)
      config.inbound.perRequest = boolean(i.perRequest, at('inbound.perRequest'));
  }
  if (o.outbound !== undefined) {
    const i = object(o.outbound, at('outbound'));
    listen(config.outbound, i, at('outbound'));
    if (i.listeners !== undefined) {
      config.outbound.listeners = array(i.listeners, at('outbound.listeners')).map((l, n) => {
        const lo = object(l, at(`outbound.listeners[${n}]`));
        return {
          host: lo.host === undefined ? '127.0.0.1' : string(lo.host, at(`outbound.listeners[${n}].host`)),
          port: port(lo.port, at(`outbound.listeners[${n}].port`), true),
          target: authority(lo.target, at(`outbound.listeners[${n}].target`)),
        };
      });
    }
  }
  if (o.admin !== undefined) listen(config.admin, object(o.admin, at('admin')), at('admin'));
  if (o.tap !== undefined) {
    const t = object(o.tap, at('tap'));
    listen(config.tap, t, at('tap'));
    if (t.clients !== undefined) {
      config.tap.clients = array(t.clients, at('tap.clients')).map((c, n) =>
        string(c, at(`tap.clients[${n}]`)),
      );
    }
  }
  if (o.opaquePorts !== undefined) {
    config.opaquePorts = array(o.opaquePorts, at('opaquePorts')).map((p, n) =>
      port(p, at(`opaquePorts[${n}]`)),
    );
  }
  if (o.destination !== undefined) {
    const d = object(o.destination, at('destination'));
    config.destination = {
      address: string(d.address, at('destination.address')),
      identity: string(d.identity, at('destination.identity')),
    };
  }
  if (o.policyService !== undefined) {
    const d = object(o.policyService, at('policyService'));
    config.policyService = {
      address: string(d.address, at('policyService.address')),
      identity: string(d.identity, at('policyService.identity')),
      workload: string(d.workload, at('policyService.workload')),
    };
  }
  if (o.endpoints !== undefined) {
    for (const [target, list] of Object.entries(object(o.endpoints, at('endpoints')))) {
      authority(target, at(`endpoints key ${target}`));
      config.endpoints[target] = array(list, at(`endpoints.${target}`)).map((e, n) =>
        endpoint(e, at(`endpoints.${target}[${n}]`)),
      );
    }
  }
  if (o.policy !== undefined) {
    for (const [key, value] of Object.entries(object(o.policy, at('policy')))) {
      if (key !== 'default') port(Number(key), at(`policy key ${key}`));
      config.policy[key] = portPolicy(value, at(`policy.${key}`));
    }
  }
  if (o.trustedForwarders !== undefined) {
    config.trustedForwarders = array(o.trustedForwarders, at('trustedForwarders')).map((s, n) =>
      string(s, at(`trustedForwarders[${n}]`)),
    );
  }
  if (o.fallbackDirect !== undefined) config.fallbackDirect = boolean(o.fallbackDirect, at('fallbackDirect'));
  if (o.transparent !== undefined) config.transparent = boolean(o.transparent, at('transparent'));
  if (o.http1OverH2 !== undefined) config.http1OverH2 = boolean(o.http1OverH2, at('http1OverH2'));
  if (o.timeouts !== undefined) {
    const t = object(o.timeouts, at('timeouts'));
    for (const key of Object.keys(config.timeouts) as Array<keyof ProxyConfig['timeouts']>) {
      if (t[key] !== undefined) config.timeouts[key] = nonNegative(t[key], at(`timeouts.${key}`));
    }
  }
  if (o.retries !== undefined) {
    const r = object(o.retries, at('retries'));
    for (const key of Object.keys(config.retries) as Array<keyof ProxyConfig['retries']>) {
      if (r[key] !== undefined) config.retries[key] = nonNegative(r[key], at(`retries.${key}`));
    }
  }
  for (const key of Object.keys(PROCESS_TUNING_ENV) as ProcessTuning[]) {
    if (o[key] !== undefined) config[key] = nonNegative(o[key], at(key));
  }
}

/** The process tunings (milliseconds, 0: off), each with its environment variable after STRAIT_PROXY_. */
type ProcessTuning = 'memoryTrimMs' | 'idleCompilersAfterMs' | 'memorySaverAfterMs';
const PROCESS_TUNING_ENV: Readonly<Record<ProcessTuning, string>> = {
  memoryTrimMs: 'MEMORY_TRIM_MS',
  idleCompilersAfterMs: 'IDLE_COMPILERS_AFTER_MS',
  memorySaverAfterMs: 'MEMORY_SAVER_AFTER_MS',
};

function applyEnv(config: ProxyConfig, env: NodeJS.ProcessEnv): void {
  const v = (name: string) => env[`STRAIT_PROXY_${name}`];
  const addr = (name: string, into: ListenAddress) => {
    const value = v(name);
    if (value) Object.assign(into, hostPort(value, `STRAIT_PROXY_${name}`));
  };
  if (v('LOG_LEVEL')) config.logLevel = logLevel(v('LOG_LEVEL'), 'STRAIT_PROXY_LOG_LEVEL');
  addr('INBOUND_ADDR', config.inbound);
  addr('OUTBOUND_ADDR', config.outbound);
  addr('ADMIN_ADDR', config.admin);
  addr('TAP_ADDR', config.tap);
  if (v('APP_HOST')) config.inbound.appHost = v('APP_HOST') as string;
  if (v('APP_PORT')) config.inbound.appPort = port(Number(v('APP_PORT')), 'STRAIT_PROXY_APP_PORT');
  const cert = v('IDENTITY_CERT_FILE');
  const key = v('IDENTITY_KEY_FILE');
  const bundle = v('TRUST_BUNDLE_FILE');
  if (v('IDENTITY_ADDR')) {
    config.identityService = {
      address: v('IDENTITY_ADDR') as string,
      serverIdentity: required(v('IDENTITY_SERVER_NAME'), 'STRAIT_PROXY_IDENTITY_SERVER_NAME'),
      ...trustBundle(v('TRUST_BUNDLE'), bundle),
      identity: required(v('IDENTITY'), 'STRAIT_PROXY_IDENTITY'),
      tokenFile: required(v('TOKEN_FILE'), 'STRAIT_PROXY_TOKEN_FILE'),
    };
  } else if (cert || key || bundle) {
    if (!cert || !key || !bundle) {
      throw new ProxyConfigError(
        'STRAIT_PROXY_IDENTITY_CERT_FILE, STRAIT_PROXY_IDENTITY_KEY_FILE and STRAIT_PROXY_TRUST_BUNDLE_FILE go together',
      );
    }
    config.identity = { certFile: cert, keyFile: key, trustBundleFile: bundle };
  }
  if (v('DESTINATION_ADDR')) {
    config.destination = {
      address: v('DESTINATION_ADDR') as string,
      identity: required(v('DESTINATION_IDENTITY'), 'STRAIT_PROXY_DESTINATION_IDENTITY'),
    };
  }
  if (v('POLICY_ADDR')) {
    config.policyService = {
      address: v('POLICY_ADDR') as string,
      identity: required(v('POLICY_IDENTITY'), 'STRAIT_PROXY_POLICY_IDENTITY'),
      workload: required(v('WORKLOAD'), 'STRAIT_PROXY_WORKLOAD'),
    };
  }
  if (v('OPAQUE_PORTS') !== undefined) {
    config.opaquePorts = (v('OPAQUE_PORTS') as string)
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => port(Number(s.trim()), `STRAIT_PROXY_OPAQUE_PORTS entry "${s}"`));
  }
  if (v('TRANSPARENT') !== undefined)
    config.transparent = v('TRANSPARENT') === 'true' || v('TRANSPARENT') === '1';
  if (v('HTTP1_OVER_H2') !== undefined)
    config.http1OverH2 = v('HTTP1_OVER_H2') === 'true' || v('HTTP1_OVER_H2') === '1';
  if (v('TRUSTED_FORWARDERS')) config.trustedForwarders = (v('TRUSTED_FORWARDERS') as string).split(',');
  if (v('TAP_CLIENTS')) config.tap.clients = (v('TAP_CLIENTS') as string).split(',').map((c) => c.trim());
  if (v('INBOUND_PER_REQUEST') !== undefined)
    config.inbound.perRequest = v('INBOUND_PER_REQUEST') === 'true' || v('INBOUND_PER_REQUEST') === '1';
  for (const [key, name] of Object.entries(PROCESS_TUNING_ENV) as Array<[ProcessTuning, string]>) {
    if (v(name) !== undefined) config[key] = nonNegative(Number(v(name)), `STRAIT_PROXY_${name}`);
  }
}

// The identity service's trust anchors: inline PEM (STRAIT_PROXY_TRUST_BUNDLE) wins over a file.
function trustBundle(
  pem: string | undefined,
  file: string | undefined,
): { trustBundlePem: string } | { trustBundleFile: string } {
  if (pem === undefined) return { trustBundleFile: required(file, 'STRAIT_PROXY_TRUST_BUNDLE_FILE') };
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ProxyConfigError(
      'STRAIT_PROXY_TRUST_BUNDLE holds no PEM certificate',
      'set it to the trust anchors, "-----BEGIN CERTIFICATE-----…"',
    );
  }
  return { trustBundlePem: pem };
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new ProxyConfigError(`${what} is required`);
  return value;
}

function hostPort(value: string, what: string): ListenAddress {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value);
  if (!match)
    throw new ProxyConfigError(`${what}: "${value}" is not host:port`, 'for example 127.0.0.1:4140');
  return { host: (match[1] as string).replace(/^\[|\]$/g, ''), port: port(Number(match[2]), what, true) };
}

function listen(into: ListenAddress, o: Record<string, unknown>, what: string): void {
  if (o.host !== undefined) into.host = string(o.host, `${what}.host`);
  if (o.port !== undefined) into.port = port(o.port, `${what}.port`, true);
}

function endpoint(raw: unknown, what: string): Endpoint {
  const o = object(raw, what);
  const e: Endpoint = {
    address: string(o.address ?? o.ip, `${what}.address`),
    port: port(o.port, `${what}.port`),
    weight: o.weight === undefined ? 1 : nonNegative(o.weight, `${what}.weight`),
    labels: {},
  };
  if (o.labels !== undefined) {
    for (const [k, value] of Object.entries(object(o.labels, `${what}.labels`)))
      e.labels[k] = string(value, `${what}.labels.${k}`);
  }
  if (o.tlsIdentity !== undefined) e.tlsIdentity = string(o.tlsIdentity, `${what}.tlsIdentity`);
  if (o.protocolHint !== undefined) {
    if (o.protocolHint !== 'h2' && o.protocolHint !== 'opaque') {
      throw new ProxyConfigError(`${what}.protocolHint must be "h2" or "opaque"`);
    }
    e.protocolHint = o.protocolHint;
  }
  if (o.authorityOverride !== undefined)
    e.authorityOverride = authority(o.authorityOverride, `${what}.authorityOverride`);
  if (o.opaqueTransportPort !== undefined)
    e.opaqueTransportPort = port(o.opaqueTransportPort, `${what}.opaqueTransportPort`);
  return e;
}

function portPolicy(raw: unknown, what: string): PortPolicy {
  const o = object(raw, what);
  const policy: PortPolicy = {
    name: o.name === undefined ? what : string(o.name, `${what}.name`),
    authorizations: array(o.authorizations ?? [], `${what}.authorizations`).map((a, n) => {
      const ao = object(a, `${what}.authorizations[${n}]`);
      const networks = array(ao.networks ?? [], `${what}.authorizations[${n}].networks`).map((net, k) => {
        if (typeof net === 'string') return { net };
        const no = object(net, `${what}.authorizations[${n}].networks[${k}]`);
        return {
          net: string(no.net, `${what}.authorizations[${n}].networks[${k}].net`),
          except: array(no.except ?? [], 'except').map((x) => string(x, 'except')),
        };
      });
      return {
        name: ao.name === undefined ? `authorization-${n}` : string(ao.name, 'name'),
        networks,
        authentication: authentication(ao.authentication, `${what}.authorizations[${n}].authentication`),
      } satisfies Authorization;
    }),
  };
  if (o.opaque !== undefined) policy.opaque = boolean(o.opaque, `${what}.opaque`);
  return policy;
}

function authentication(raw: unknown, what: string): Authentication {
  if (raw === 'unauthenticated' || raw === undefined) return { kind: 'unauthenticated' };
  if (raw === 'meshTls') return { kind: 'meshTls' };
  const o = object(raw, what);
  return {
    kind: 'identities',
    identities: array(o.identities ?? [], `${what}.identities`).map((s) => string(s, `${what}.identities`)),
    suffixes: array(o.suffixes ?? [], `${what}.suffixes`).map((s) => string(s, `${what}.suffixes`)),
  };
}

function object(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ProxyConfigError(`${what} must be an object`);
  return raw as Record<string, unknown>;
}

function array(raw: unknown, what: string): unknown[] {
  if (!Array.isArray(raw)) throw new ProxyConfigError(`${what} must be a list`);
  return raw;
}

function string(raw: unknown, what: string): string {
  if (typeof raw !== 'string' || raw === '') throw new ProxyConfigError(`${what} must be a non-empty string`);
  return raw;
}

function boolean(raw: unknown, what: string): boolean {
  if (typeof raw !== 'boolean') throw new ProxyConfigError(`${what} must be true or false`);
  return raw;
}

function nonNegative(raw: unknown, what: string): number {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < 0)
    throw new ProxyConfigError(`${what} must be a number ≥ 0`);
  return raw;
}

function port(raw: unknown, what: string, allowZero = false): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < (allowZero ? 0 : 1) || raw > 65535) {
    throw new ProxyConfigError(`${what}: ${JSON.stringify(raw)} is not a port`, 'ports are integers 1-65535');
  }
  return raw;
}

function authority(raw: unknown, what: string): string {
  const value = string(raw, what);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(value)) {
    throw new ProxyConfigError(
      `${what}: "${value}" is not name:port`,
      'for example web.shop.svc.cluster.local:8080',
    );
  }
  return value;
}

function logLevel(raw: unknown, what: string): LogLevel {
  if (typeof raw !== 'string' || !isLogLevel(raw))
    throw new ProxyConfigError(`${what}: must be debug, info, warn or error`);
  return raw;
}

/** YAML is loaded only for YAML files: the parser adds ~13 MB to a proxy that never needs it. */
function parseYaml(text: string): unknown {
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return parse(text);
}
