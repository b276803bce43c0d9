import { createAnchor, createIssuer, issueWorkloadCertificate } from '../../../src/pki/index.ts';

/** Certificates for a control-plane service and one meshed client, all chained to one fresh anchor. */
export function testPki(serverServiceAccount: string) {
  const anchor = createAnchor();
  const issuer = createIssuer({ anchor });
  const serverIdentity = `${serverServiceAccount}.strait.serviceaccount.identity.strait.cluster.local`;
  const server = issueWorkloadCertificate({ issuer, identity: serverIdentity });
  const client = issueWorkloadCertificate({
    issuer,
    identity: 'web.shop.serviceaccount.identity.strait.cluster.local',
  });
  return {
    serverTls: { cert: server.chainPem, key: server.keyPem, ca: anchor.certPem },
    /** Options of `createRpcClient` for the meshed client calling the service on loopback `port`. */
    clientOptions: (port: number) => ({
      address: `127.0.0.1:${port}`,
      ca: anchor.certPem,
      serverIdentity,
      cert: client.chainPem,
      key: client.keyPem,
    }),
  };
}

/** Pulls messages from a stream one at a time, failing clearly when one does not come. */
export function reader<T>(stream: AsyncIterable<T>) {
  const iterator = stream[Symbol.asyncIterator]();
  return {
    async next(what = 'a message', timeoutMs = 30_000): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        const result = await Promise.race([iterator.next(), timeout]);
        if (result.done) throw new Error(`stream ended while waiting for ${what}`);
        return result.value;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
