import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { StraitError } from '../../../core/errors.ts';
import { loadBundle } from '../../../pki/index.ts';
import { defaultMeshSettings, type MeshSettings } from '../manifests/settings.ts';
import type { KubeconfigSelection } from '../open.ts';

/** A control-plane process cannot start: a missing or bad setting, an unreadable file. */
export class ControlPlaneConfigError extends StraitError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super('E_CONTROL_PLANE_CONFIG', message, options);
    this.name = 'ControlPlaneConfigError';
  }
}

/** What every control-plane entry point reads from the environment the install manifests set. */
export interface ControlPlaneEnv {
  settings: MeshSettings;
  host: string;
  port: number;
  trustAnchorsFile: string;
  /** The trust bundle read from trustAnchorsFile, checked to hold at least one certificate. */
  trustAnchorsPem: string;
  /** Where the cluster is: --kubeconfig/--context, else $KUBECONFIG, else in-cluster. */
  kube: KubeconfigSelection;
}

/** Reads `name` from `env`; throws naming the variable when it is required and missing. */
export function requireEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim();
  if (!value) {
    throw new ControlPlaneConfigError(`environment variable ${name} is not set`, {
      hint: 'the Deployments `strait install` prints set it',
    });
  }
  return value;
}

/** Parses `host:port` (IPv6 hosts in brackets); port 0 picks a free one. */
export function parseListenAddress(name: string, value: string): { host: string; port: number } {
  const match = /^\[?([^\]]*)\]?:(\d+)$/.exec(value);
  const port = Number(match?.[2]);
  if (!match?.[1] || !Number.isInteger(port) || port > 65_535) {
    throw new ControlPlaneConfigError(`${name} "${value}" is not host:port`, {
      hint: 'for example 0.0.0.0:8086',
    });
  }
  return { host: match[1], port };
}

/** Reads a text file, naming the variable it came from when it cannot be read. */
export function readConfigFile(variable: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ControlPlaneConfigError(
      `${variable}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { hint: 'check that the volume holding it is mounted', cause: error },
    );
  }
}

/** Reads the common settings; `argv` may carry --kubeconfig and --context (for running outside a cluster). */
export function readControlPlaneEnv(
  env: NodeJS.ProcessEnv = process.env,
  argv: string[] = process.argv.slice(2),
): ControlPlaneEnv {
  let flags: { kubeconfig?: string | undefined; context?: string | undefined };
  try {
    flags = parseArgs({
      args: argv,
      options: { kubeconfig: { type: 'string' }, context: { type: 'string' } },
    }).values;
  } catch (error) {
    throw new ControlPlaneConfigError((error as Error).message, {
      hint: 'the only flags are --kubeconfig FILE and --context NAME',
    });
  }
  const settings = defaultMeshSettings();
  settings.controlPlaneNamespace = requireEnv(env, 'STRAIT_CONTROL_PLANE_NAMESPACE');
  settings.trustDomain = requireEnv(env, 'STRAIT_TRUST_DOMAIN');
  settings.clusterDomain = requireEnv(env, 'STRAIT_CLUSTER_DOMAIN');
  const { host, port } = parseListenAddress('STRAIT_LISTEN_ADDR', requireEnv(env, 'STRAIT_LISTEN_ADDR'));
  const trustAnchorsFile = requireEnv(env, 'STRAIT_TRUST_ANCHORS_FILE');
  const trustAnchorsPem = readConfigFile('STRAIT_TRUST_ANCHORS_FILE', trustAnchorsFile);
  try {
    loadBundle(trustAnchorsPem, trustAnchorsFile);
  } catch (error) {
    throw new ControlPlaneConfigError(
      `STRAIT_TRUST_ANCHORS_FILE is not a trust bundle: ${(error as Error).message}`,
      { hint: 'it must hold PEM CA certificates (the strait-identity-trust-roots ConfigMap)', cause: error },
    );
  }
  const kubeconfig = flags.kubeconfig ?? (env.KUBECONFIG || undefined);
  return {
    settings,
    host,
    port,
    trustAnchorsFile,
    trustAnchorsPem,
    kube: { kubeconfig, context: flags.context },
  };
}
