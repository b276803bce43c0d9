import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import {
  createAnchor,
  createIssuer,
  issueWorkloadCertificate,
  type WorkloadCertificate,
} from '../../../src/pki/index.ts';
import { createInboundTerminator } from '../../../src/proxy/inbound/terminator.ts';
import { createLogger } from '../../../src/proxy/log.ts';
import { Credentials } from '../../../src/proxy/transport/credentials.ts';

export const id = (sa: string, ns: string) => `${sa}.${ns}.serviceaccount.identity.strait.cluster.local`;
export const GATEWAY = id('strait-gateway', 'strait-multicluster');
export const BACKEND = id('backend', 'shop');
export const CLIENT = id('web', 'shop');
export const log = createLogger('error');

/** One trust anchor; east and west have their own issuers. */
export const anchor = createAnchor();
export const east = createIssuer({
  anchor: { certPem: anchor.certPem, keyPem: anchor.keyPem },
  name: 'identity.east',
});
export const west = createIssuer({
  anchor: { certPem: anchor.certPem, keyPem: anchor.keyPem },
  name: 'identity.west',
});

export function leafFor(identity: string, issuer: typeof east): WorkloadCertificate {
  return issueWorkloadCertificate({ issuer, identity });
}

export function credentialsFor(identity: string, issuer: typeof east): Credentials {
  const leaf = leafFor(identity, issuer);
  return new Credentials({ certChain: leaf.chainPem, key: leaf.keyPem, trustBundle: anchor.certPem });
}

/** The backend's proxy: terminates mTLS, trusts the gateway to forward identities, and answers what it saw. */
export async function startBackend(): Promise<{ port: number; close: () => void }> {
  const terminator = createInboundTerminator({
    credentials: credentialsFor(BACKEND, east),
    isTrustedForwarder: (peer) => peer === GATEWAY,
    log,
  });
  const server = net.createServer({ allowHalfOpen: true }, async (socket) => {
    socket.on('error', () => {});
    try {
      const accepted = await terminator.accept(socket);
      accepted.stream.once('data', (data) => {
        accepted.stream.end(
          `peer=${accepted.peerIdentity} client=${accepted.clientIdentity} port=${accepted.header?.port} got=${data}`,
        );
      });
      accepted.stream.resume();
    } catch {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** A TLS client of the gateway at `port` that trusts the anchor but presents no certificate. */
export function connectWithoutCertificate(port: number): tls.TLSSocket {
  return tls.connect({
    host: '127.0.0.1',
    port,
    servername: GATEWAY,
    ca: anchor.certPem,
    checkServerIdentity: () => undefined,
  });
}

/** Sends `text` and reads until the far side closes; '' when refused. */
export function exchange(socket: net.Socket, text: string): Promise<string> {
  return new Promise((resolve) => {
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk;
    });
    socket.on('error', () => {});
    socket.once('end', () => socket.end());
    socket.once('close', () => resolve(received));
    socket.write(text);
  });
}

/** Writes the certificate chain, key and trust bundle of `identity` into `dir`; resolves their paths. */
export function writeIdentityFiles(
  dir: string,
  identity: string,
  issuer: typeof east,
): { certFile: string; keyFile: string; trustBundleFile: string } {
  const leaf = leafFor(identity, issuer);
  const files = {
    certFile: join(dir, 'chain.pem'),
    keyFile: join(dir, 'key.pem'),
    trustBundleFile: join(dir, 'bundle.pem'),
  };
  writeFileSync(files.certFile, leaf.chainPem);
  writeFileSync(files.keyFile, leaf.keyPem);
  writeFileSync(files.trustBundleFile, anchor.certPem);
  return files;
}
