// A standalone identity service process for the restart test: reads its
// configuration from a JSON file named on the command line and reports its
// port to the parent over IPC.
import { readFileSync } from 'node:fs';
import { startIdentityService } from '../../../src/control-plane/identity/index.ts';
import { WorkloadTokenValidator } from '../../../src/platform/local/workload-token.ts';

const config = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as {
  issuerCert: string;
  issuerKey: string;
  bundle: string;
  tokenPublicKey: string;
  port: number;
  leafValidityMs: number;
};
const service = await startIdentityService({
  issuer: {
    certPem: readFileSync(config.issuerCert, 'utf8'),
    keyPem: readFileSync(config.issuerKey, 'utf8'),
  },
  trustBundle: readFileSync(config.bundle, 'utf8'),
  validator: new WorkloadTokenValidator({ publicKeys: [readFileSync(config.tokenPublicKey, 'utf8')] }),
  port: config.port,
  leafValidityMs: config.leafValidityMs,
});
process.send?.({ port: service.port, identity: service.identity });
process.on('disconnect', () => void service.close().then(() => process.exit(0)));
