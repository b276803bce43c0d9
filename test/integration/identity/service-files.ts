// A mesh on disk for tests that run the identity service as its own process
// (service-process.ts): trust anchor, issuer, workload-token key and one
// workload token, then the service started on a port of the caller's choice.
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CaPem, createAnchor, createIssuer } from '../../../src/pki/index.ts';
import { createWorkloadTokenKeys, WorkloadTokenIssuer } from '../../../src/platform/local/workload-token.ts';

const serviceEntry = new URL('./service-process.ts', import.meta.url).pathname;

export interface IdentityServiceFiles {
  anchor: CaPem;
  issuer: CaPem;
  /** The trust bundle (the anchor), as a file. */
  bundleFile: string;
  /** A workload token for the identity given to `writeIdentityServiceFiles`. */
  tokenFile: string;
  /** Writes a fresh token for that workload over the old one (a rotation). */
  rotateToken(): void;
}

/** Writes the files the service and one workload need into `dir`. */
export function writeIdentityServiceFiles(
  dir: string,
  workload: { identity: string; namespace: string; name: string },
): IdentityServiceFiles {
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  const keys = createWorkloadTokenKeys();
  writeFileSync(join(dir, 'ca.crt'), anchor.certPem);
  writeFileSync(join(dir, 'issuer.crt'), issuer.certPem);
  writeFileSync(join(dir, 'issuer.key'), issuer.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'token.pub'), keys.publicKeyPem);
  const tokens = new WorkloadTokenIssuer(keys.privateKeyPem);
  const tokenFile = join(dir, 'token');
  const rotateToken = () =>
    writeFileSync(
      tokenFile,
      tokens.issue({ identity: workload.identity, namespace: workload.namespace, workload: workload.name }),
    );
  rotateToken();
  return { anchor, issuer, bundleFile: join(dir, 'ca.crt'), tokenFile, rotateToken };
}

/**
 * Starts the identity service process on `port` (0: any) with the files of
 * `dir`; it reports its port and identity once serving.
 */
export async function startIdentityServiceProcess(
  dir: string,
  port: number,
  leafValidityMs: number,
): Promise<{ child: ChildProcess; port: number; identity: string }> {
  const configPath = join(dir, `service-${port}.json`);
  writeFileSync(
    configPath,
    JSON.stringify({
      issuerCert: join(dir, 'issuer.crt'),
      issuerKey: join(dir, 'issuer.key'),
      bundle: join(dir, 'ca.crt'),
      tokenPublicKey: join(dir, 'token.pub'),
      port,
      leafValidityMs,
    }),
  );
  const child = fork(serviceEntry, [configPath], { stdio: 'inherit' });
  const [message] = (await once(child, 'message')) as [{ port: number; identity: string }];
  return { child, ...message };
}
