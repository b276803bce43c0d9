import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { StraitError } from '../../core/errors.ts';
import { DEFAULT_CONTROL_PLANE_NAMESPACE, DEFAULT_TRUST_DOMAIN } from '../../core/identity-name.ts';
import { createAnchor, createIssuer, loadCertificates, loadSigner } from '../../pki/index.ts';
import { addressBlock } from './addresses.ts';
import { generateTokenKeyPem } from './api/service-account-token.ts';
import { createApiCertificates } from './api/serving-certificate.ts';
import { claimBlock, releaseBlock } from './block-claims.ts';
import {
  type ClusterConfig,
  clusterFiles,
  defaultPorts,
  readClusterConfig,
  writeClusterConfig,
} from './cluster-config.ts';
import { clusterDirectory, listClusterNames, writeFileAtomic } from './home.ts';
import { blockLinkExists, networkNamespaceOf, networkNamespacesSupported } from './netns.ts';

/** PEM text and where it came from (a file path), for error messages. */
export interface PemInput {
  pem: string;
  source: string;
}

export interface CreateClusterOptions {
  home: string;
  name: string;
  /** Trust anchor certificate(s); with `trustAnchorKey` it may sign a new issuer. Generated when absent. */
  trustAnchorCert?: PemInput;
  trustAnchorKey?: PemInput;
  /** The cluster's issuer; generated (signed by the anchor) when absent. */
  issuerCert?: PemInput;
  issuerKey?: PemInput;
  trustDomain?: string;
  clusterDomain?: string;
  /** N of the loopback block 127.N.0.0/16; the lowest free one when absent. */
  index?: number;
  /** Run the cluster in its own network namespace (root only). */
  netns?: boolean;
}

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Creates a cluster's state directory: configuration, trust anchor and
 * issuer (given or generated), the API's CA and certificate, the token
 * signing keys and the admin token. Checks every input before writing
 * anything. An existing cluster is returned as it is.
 */
export async function createCluster(
  options: CreateClusterOptions,
): Promise<{ config: ClusterConfig; created: boolean }> {
  if (!CLUSTER_NAME.test(options.name) || options.name.length > 40) {
    throw new StraitError(
      'E_CLUSTER_NAME',
      `cluster name "${options.name}" is not a DNS label of at most 40 characters`,
    );
  }
  const dir = clusterDirectory(options.home, options.name);
  const files = clusterFiles(dir);
  if (existsSync(files.config)) {
    const config = readClusterConfig(dir);
    // A stopped cluster keeps its claim; should it have been lost, another cluster may listen on the block now.
    if (!claimBlock(config.index, dir)) {
      throw new StraitError(
        'E_ADDRESS_BLOCK',
        `cluster ${options.name}: loopback block ${config.index} is held by another cluster`,
        {
          hint: `stop the other cluster, or delete this one: strait local down --cluster ${options.name} --delete`,
        },
      );
    }
    return { config, created: false };
  }

  const trust = prepareTrust(options);
  if (options.netns && !networkNamespacesSupported()) {
    throw new StraitError('E_NETNS', `cluster ${options.name}: network namespaces need root and iproute2`, {
      hint: 'create the cluster without --netns',
    });
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const index = options.index ?? (await freeIndex(options.home, dir));
  if (options.index !== undefined && !claimBlock(options.index, dir)) {
    throw new StraitError('E_ADDRESS_BLOCK', `loopback block ${options.index} is held by another cluster`);
  }
  const block = addressBlock(index);
  const namespace = options.netns ? networkNamespaceOf(index, options.name) : undefined;
  const config: ClusterConfig = {
    name: options.name,
    index,
    cidr: block.cidr,
    controlPlaneAddress: block.controlPlane,
    ports: defaultPorts(),
    trustDomain: options.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    clusterDomain: options.clusterDomain ?? 'cluster.local',
    controlPlaneNamespace: DEFAULT_CONTROL_PLANE_NAMESPACE,
    ...(namespace ? { netns: namespace.name, externalAddress: namespace.address } : {}),
    createdAt: new Date().toISOString(),
  };
  const api = await createApiCertificates({
    clusterName: options.name,
    ipAddresses: [block.controlPlane, '127.0.0.1', ...(namespace ? [namespace.address] : [])],
    dnsNames: ['localhost', `strait-api.${options.name}`],
  });

  mkdirSync(files.pki, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileAtomic(files.trustAnchor, trust.anchorPem);
  if (trust.anchorKeyPem)
    writeFileAtomic(`${files.trustAnchor.replace(/\.crt$/, '.key')}`, trust.anchorKeyPem, 0o600);
  writeFileAtomic(files.issuerCert, trust.issuerCertPem);
  writeFileAtomic(files.issuerKey, trust.issuerKeyPem, 0o600);
  writeFileAtomic(files.apiCa, api.caCertPem);
  writeFileAtomic(files.apiCert, api.certPem);
  writeFileAtomic(files.apiKey, api.keyPem, 0o600);
  writeFileAtomic(files.tokenKey, generateTokenKeyPem(), 0o600);
  writeFileAtomic(files.workloadTokenKey, generateTokenKeyPem(), 0o600);
  writeFileAtomic(files.adminToken, `${randomBytes(32).toString('base64url')}\n`, 0o600);
  mkdirSync(files.workloads, { recursive: true });
  writeClusterConfig(dir, config);
  return { config, created: true };
}

function prepareTrust(options: CreateClusterOptions): {
  anchorPem: string;
  anchorKeyPem?: string;
  issuerCertPem: string;
  issuerKeyPem: string;
} {
  if (Boolean(options.issuerCert) !== Boolean(options.issuerKey)) {
    throw new StraitError('E_USAGE', '--issuer-cert and --issuer-key go together');
  }
  if (options.trustAnchorKey && !options.trustAnchorCert) {
    throw new StraitError('E_USAGE', '--trust-anchor-key needs --trust-anchor-cert');
  }
  if (options.issuerCert && options.issuerKey) {
    if (!options.trustAnchorCert) {
      throw new StraitError('E_USAGE', '--issuer-cert needs --trust-anchor-cert, the anchor it chains to');
    }
    const anchors = loadCertificates(options.trustAnchorCert.pem, options.trustAnchorCert.source);
    const issuer = loadSigner(
      {
        certPem: options.issuerCert.pem,
        keyPem: options.issuerKey.pem,
        certSource: options.issuerCert.source,
        keySource: options.issuerKey.source,
      },
      'issuer',
    );
    const top = issuer.chain.at(-1);
    if (
      !anchors.some((anchor) => anchor.subject === top?.issuer && top?.x509.verify(anchor.x509.publicKey))
    ) {
      throw new StraitError(
        'E_CHAIN_INVALID',
        `${options.issuerCert.source} is not signed by any anchor in ${options.trustAnchorCert.source}`,
        { hint: 'give the trust anchor that issued this issuer' },
      );
    }
    return {
      anchorPem: options.trustAnchorCert.pem,
      issuerCertPem: options.issuerCert.pem,
      issuerKeyPem: options.issuerKey.pem,
    };
  }
  if (options.trustAnchorCert) {
    if (!options.trustAnchorKey) {
      throw new StraitError(
        'E_USAGE',
        'with --trust-anchor-cert, give --trust-anchor-key or --issuer-cert/--issuer-key',
        {
          hint: 'the anchor key signs a new issuer for this cluster; or bring an issuer signed by the anchor',
        },
      );
    }
    const anchor = {
      certPem: options.trustAnchorCert.pem,
      keyPem: options.trustAnchorKey.pem,
      certSource: options.trustAnchorCert.source,
      keySource: options.trustAnchorKey.source,
    };
    const issuer = createIssuer({ anchor });
    return {
      anchorPem: options.trustAnchorCert.pem,
      issuerCertPem: issuer.certPem,
      issuerKeyPem: issuer.keyPem,
    };
  }
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  return {
    anchorPem: anchor.certPem,
    anchorKeyPem: anchor.keyPem,
    issuerCertPem: issuer.certPem,
    issuerKeyPem: issuer.keyPem,
  };
}

/**
 * The lowest block index no cluster of this home uses, whose control-plane
 * address is free, and which this cluster could claim host-wide.
 */
async function freeIndex(home: string, dir: string): Promise<number> {
  const used = new Set<number>();
  for (const name of listClusterNames(home)) {
    try {
      used.add(readClusterConfig(clusterDirectory(home, name)).index);
    } catch {}
  }
  for (let index = 1; index <= 254; index++) {
    if (used.has(index) || blockLinkExists(index) || !claimBlock(index, dir)) continue;
    // Probe the port only once the block is ours: a probe binds it for a moment, which would make a
    // cluster that holds the block fail to start (EADDRINUSE) were it starting at that moment.
    if (await portFree(addressBlock(index).controlPlane, defaultPorts().api)) return index;
    releaseBlock(index, dir);
  }
  throw new StraitError('E_ADDRESS_BLOCK', 'no free loopback block 127.N.0.0/16 is left', {
    hint: 'delete clusters you no longer need: strait local down --cluster NAME --delete',
  });
}

/** Whether host:port can be bound now. */
export function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

/** Reads a PEM file named on the command line; `flag` names it in errors. */
export function readPemInput(path: string, flag: string): PemInput {
  try {
    return { pem: readFileSync(path, 'utf8'), source: path };
  } catch (error) {
    throw new StraitError(
      'E_FILE',
      `${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
}
