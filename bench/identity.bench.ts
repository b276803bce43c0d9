// Identity benchmark: CSR signings per second on one core (ECDSA P-256).
// One signing is what the identity service does per Certify request after the
// credential check: parse the CSR, verify its signature, check its names, and
// build and sign the leaf. It runs synchronously on the main thread, so it
// uses one core; the rate is given per wall-clock second and per CPU second
// (the machine is shared, so the CPU figure is the steadier one).
// A second figure is end to end: Certify over gRPC/TLS on loopback, token
// check included, client and service in this one process.
// Run: npm run bench:identity [-- --seconds N --concurrency N]
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { startIdentityService } from '../src/control-plane/identity/index.ts';
import { IdentityService } from '../src/gen/strait/identity/v1/identity_pb.js';
import {
  checkCsrIdentity,
  createAnchor,
  createCsr,
  createIssuer,
  generateKeyPair,
  loadSigner,
  parseCertificate,
  parseCsr,
  signLeaf,
  verifyChain,
} from '../src/pki/index.ts';
import {
  createWorkloadTokenKeys,
  WorkloadTokenIssuer,
  WorkloadTokenValidator,
} from '../src/platform/local/workload-token.ts';
import { createRpcClient } from '../src/rpc/client.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '32' },
    out: { type: 'string', default: new URL('./results/identity.json', import.meta.url).pathname },
  },
});
const SECONDS = Number(values.seconds);
const CONCURRENCY = Number(values.concurrency);
const GOAL = 2_000;

const anchor = createAnchor();
const issuer = createIssuer({ anchor });
const signer = loadSigner(issuer, 'issuer');
const identities = Array.from(
  { length: 64 },
  (_, i) => `sa-${i}.ns-${i % 8}.serviceaccount.identity.strait.cluster.local`,
);
const requests = identities.map((identity) => ({
  identity,
  csr: createCsr(generateKeyPair().privateKey, identity),
}));

function measureSigning(): { signings: number; wallSeconds: number; cpuSeconds: number } {
  // Warm up the JIT before measuring.
  for (let i = 0; i < 500; i++) signOne(i);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  let signings = 0;
  while (performance.now() - start < SECONDS * 1000) {
    for (let i = 0; i < 100; i++) signOne(signings++);
  }
  const wallSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return { signings, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

function signOne(i: number): Uint8Array {
  const request = requests[i % requests.length] as (typeof requests)[number];
  const csr = parseCsr(request.csr, 'bench');
  checkCsrIdentity(csr, request.identity, 'bench');
  return signLeaf(signer, { subjectPublicKeyInfo: csr.subjectPublicKeyInfo, identity: request.identity }).der;
}

async function measureCertify(): Promise<{ requests: number; wallSeconds: number; cpuSeconds: number }> {
  const keys = createWorkloadTokenKeys();
  const tokens = new WorkloadTokenIssuer(keys.privateKeyPem);
  const service = await startIdentityService({
    issuer,
    trustBundle: anchor.certPem,
    validator: new WorkloadTokenValidator({ publicKeys: [keys.publicKeyPem] }),
    port: 0,
  });
  const client = createRpcClient(IdentityService, {
    address: `127.0.0.1:${service.port}`,
    ca: anchor.certPem,
    serverIdentity: service.identity,
  });
  const calls = requests.map((request) => ({
    identity: request.identity,
    certificateSigningRequest: request.csr,
    token: new TextEncoder().encode(
      tokens.issue({
        identity: request.identity,
        namespace: request.identity.split('.')[1] as string,
        workload: 'bench',
      }),
    ),
  }));
  for (const call of calls) await client.certify(call);
  let done = 0;
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = worker; performance.now() < deadline; i += CONCURRENCY) {
        await client.certify(calls[i % calls.length] as (typeof calls)[number]);
        done++;
      }
    }),
  );
  const wallSeconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  await service.close();
  return { requests: done, wallSeconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

// The signed output must be a real, verifiable certificate.
const sample = parseCertificate(signOne(0), 'bench leaf');
verifyChain(sample, signer.chain, anchor.certPem, { expectedIdentity: identities[0] as string });

const signing = measureSigning();
const certify = await measureCertify();
const perWall = signing.signings / signing.wallSeconds;
const perCpu = signing.signings / signing.cpuSeconds;
const result = {
  benchmark: 'identity',
  date: new Date().toISOString(),
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  csrSigning: {
    note: 'parse CSR + verify its signature + check names + build and sign the leaf; ECDSA P-256 issuer and keys; one thread',
    signings: signing.signings,
    seconds: round(signing.wallSeconds),
    signingsPerSecond: Math.round(perWall),
    signingsPerCpuSecond: Math.round(perCpu),
    goalPerSecond: GOAL,
    ratioToGoal: round(perWall / GOAL),
    ratioToGoalPerCpuSecond: round(perCpu / GOAL),
  },
  certifyOverTls: {
    note: `gRPC Certify on loopback with token check, ${CONCURRENCY} concurrent calls on one HTTP/2 connection, client and service in one process`,
    requests: certify.requests,
    seconds: round(certify.wallSeconds),
    requestsPerSecond: Math.round(certify.requests / certify.wallSeconds),
    requestsPerCpuSecond: Math.round(certify.requests / certify.cpuSeconds),
  },
};

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

process.stdout.write(
  `CSR signings (P-256, one core): ${result.csrSigning.signingsPerSecond}/s wall, ${result.csrSigning.signingsPerCpuSecond}/CPU-s ` +
    `(goal ${GOAL}/s, ratio ${result.csrSigning.ratioToGoal})\n` +
    `Certify over TLS end to end: ${result.certifyOverTls.requestsPerSecond}/s (${result.certifyOverTls.requestsPerCpuSecond}/CPU-s)\n`,
);
writeFileSync(values.out as string, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`written to ${values.out}\n`);
