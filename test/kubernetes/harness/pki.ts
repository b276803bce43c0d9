import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Files of one test cluster's PKI, all PEM, inside the cluster directory. */
export interface ClusterPki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  /** Signs service-account tokens; the API server also verifies with it. */
  serviceAccountKey: string;
}

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args, { timeout: 60_000 });
}

async function leaf(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<[string, string]> {
  const [key, csr, cert, ext] = ['key', 'csr', 'crt', 'ext'].map((suffix) =>
    join(dir, `${name}.${suffix}`),
  ) as [string, string, string, string];
  await writeFile(ext, extensions);
  await openssl(
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    key,
    '-out',
    csr,
    '-subj',
    subject,
  );
  await openssl(
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    join(dir, 'ca.crt'),
    '-CAkey',
    join(dir, 'ca.key'),
    '-set_serial',
    `0x${randomBytes(8).toString('hex')}`,
    '-days',
    '3',
    '-out',
    cert,
    '-extfile',
    ext,
  );
  return [cert, key];
}

/**
 * Creates a CA, the API server's serving certificate (for 127.0.0.1,
 * localhost and the in-cluster `kubernetes` names), an admin client
 * certificate in `system:masters`, and the service-account signing key.
 */
export async function createClusterPki(
  dir: string,
  clusterName: string,
  serviceIp: string,
): Promise<ClusterPki> {
  const caCert = join(dir, 'ca.crt');
  const caKey = join(dir, 'ca.key');
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '3',
    '-subj',
    `/CN=strait-test-${clusterName}-ca`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const names = ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'];
  const san = [...names.map((n) => `DNS:${n}`), 'DNS:kubernetes.default.svc.cluster.local', 'IP:127.0.0.1'];
  const [servingCert, servingKey] = await leaf(
    dir,
    'apiserver',
    '/CN=kube-apiserver',
    `subjectAltName=${[...san, `IP:${serviceIp}`].join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n`,
  );
  const [adminCert, adminKey] = await leaf(
    dir,
    'admin',
    '/O=system:masters/CN=strait-test-admin',
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n',
  );
  const serviceAccountKey = join(dir, 'service-account.key');
  await openssl(
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    serviceAccountKey,
  );
  return { caCert, caKey, servingCert, servingKey, adminCert, adminKey, serviceAccountKey };
}
