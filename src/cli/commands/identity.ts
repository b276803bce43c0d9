import { basename, dirname, join } from 'node:path';
import { parseDuration } from '../../core/duration.ts';
import { StraitError, UsageError } from '../../core/errors.ts';
import { parseIdentityName } from '../../core/identity-name.ts';
import {
  buildBundle,
  type CaPem,
  createAnchor,
  createIssuer,
  DEFAULT_ANCHOR_NAME,
  DEFAULT_ISSUER_NAME,
  issueWorkloadCertificate,
  loadCertificate,
} from '../../pki/index.ts';
import { type Command, type CommandContext, optionalString, requireString } from '../command.ts';
import { formatDocument, outputFormat, outputOption } from '../output.ts';
import { readInput, writeAllOrNothing } from './identity-files.ts';
import { formatInspectReport, inspectCertificates } from './identity-inspect.ts';

const PUBLIC = 0o644;
const PRIVATE = 0o600;

const outOption = { type: 'string', valueName: 'DIR', description: 'directory to write into' } as const;
const forceOption = { type: 'boolean', description: 'replace files that already exist' } as const;

function validFor(ctx: CommandContext): number {
  const text = requireString(ctx.values, 'valid-for');
  try {
    const ms = parseDuration(text, '--valid-for');
    if (ms <= 0) throw new StraitError('E_DURATION', `--valid-for: "${text}" must be positive`);
    return ms;
  } catch (error) {
    throw new UsageError((error as Error).message, 'write a duration such as 24h, 8760h or 90m');
  }
}

function noPositionals(ctx: CommandContext): void {
  if (ctx.positionals.length > 0)
    throw new UsageError(`unexpected argument "${ctx.positionals[0]}"`, 'see --help');
}

function summary(certPem: string): string {
  const cert = loadCertificate(certPem, 'new certificate');
  const name = cert.subject || cert.dnsNames.join(', ');
  return `${name}, ${cert.keyType}, valid until ${cert.notAfter.toISOString()}`;
}

/** `--<role>-cert` and `--<role>-key`: the CA that signs what a command makes. */
function signerOptions(role: 'anchor' | 'issuer') {
  return {
    [`${role}-cert`]: { type: 'string', valueName: 'FILE', description: `the ${role} certificate (PEM)` },
    [`${role}-key`]: { type: 'string', valueName: 'FILE', description: `the ${role} private key (PEM)` },
  } as const;
}

/** Reads the CA named by `--<role>-cert` and `--<role>-key`. */
function readSigner(ctx: CommandContext, role: 'anchor' | 'issuer'): CaPem {
  const certFile = requireString(ctx.values, `${role}-cert`);
  const keyFile = requireString(ctx.values, `${role}-key`);
  return {
    certPem: readInput(certFile, `--${role}-cert`),
    keyPem: readInput(keyFile, `--${role}-key`),
    certSource: certFile,
    keySource: keyFile,
  };
}

/** Writes a new CA as `<base>.crt` and `<base>.key` into `out` and says where, naming it `what`. */
function writeCa(ctx: CommandContext, out: string, base: string, ca: CaPem, what: string): void {
  const [cert, key] = [`${base}.crt`, `${base}.key`];
  writeAllOrNothing(
    out,
    [
      { name: cert, content: ca.certPem, mode: PUBLIC },
      { name: key, content: ca.keyPem, mode: PRIVATE },
    ],
    ctx.values.force === true,
  );
  ctx.stdout.write(`${what} written to ${join(out, cert)} and ${join(out, key)}\n  ${summary(ca.certPem)}\n`);
}

/** Certificates never outlive their signer; say so when that shortened the requested lifetime. */
function warnIfCapped(ctx: CommandContext, notAfter: Date, validForMs: number, signer: string): void {
  if (notAfter.getTime() < Date.now() + validForMs - 60_000) {
    ctx.stderr.write(
      `Note: the lifetime was shortened to end with the ${signer}'s (${notAfter.toISOString()})\n`,
    );
  }
}

const anchorCommand: Command = {
  name: 'anchor',
  summary: 'Create a trust anchor: a self-signed ECDSA P-256 root CA (ca.crt, ca.key)',
  options: {
    out: outOption,
    name: { type: 'string', valueName: 'NAME', description: 'common name', default: DEFAULT_ANCHOR_NAME },
    'valid-for': { type: 'string', valueName: 'DURATION', description: 'lifetime', default: '87600h' },
    force: forceOption,
  },
  run(ctx) {
    noPositionals(ctx);
    const out = requireString(ctx.values, 'out');
    const anchor = createAnchor({ name: requireString(ctx.values, 'name'), validForMs: validFor(ctx) });
    writeCa(ctx, out, 'ca', anchor, 'Trust anchor');
    return 0;
  },
};

const issuerCommand: Command = {
  name: 'issuer',
  summary: "Create a cluster's issuer: an intermediate CA signed by the anchor (issuer.crt, issuer.key)",
  options: {
    ...signerOptions('anchor'),
    out: outOption,
    name: { type: 'string', valueName: 'NAME', description: 'common name', default: DEFAULT_ISSUER_NAME },
    'valid-for': { type: 'string', valueName: 'DURATION', description: 'lifetime', default: '8760h' },
    force: forceOption,
  },
  run(ctx) {
    noPositionals(ctx);
    const out = requireString(ctx.values, 'out');
    const validForMs = validFor(ctx);
    const anchor = readSigner(ctx, 'anchor');
    const issuer = createIssuer({ anchor, name: requireString(ctx.values, 'name'), validForMs });
    writeCa(ctx, out, 'issuer', issuer, 'Issuer');
    warnIfCapped(ctx, loadCertificate(issuer.certPem, 'issuer').notAfter, validForMs, 'anchor');
    return 0;
  },
};

const issueCommand: Command = {
  name: 'issue',
  summary: 'Issue a workload certificate offline (leaf.crt, leaf.key, chain.crt)',
  description:
    'Issue a workload certificate offline, for plain hosts, tests and break-glass.\n' +
    'Writes leaf.crt (the certificate), leaf.key (its key) and chain.crt (leaf and issuer, for TLS).',
  options: {
    ...signerOptions('issuer'),
    identity: {
      type: 'string',
      valueName: 'NAME',
      description: 'identity, e.g. web.shop.serviceaccount.identity.strait.cluster.local',
    },
    out: outOption,
    'valid-for': { type: 'string', valueName: 'DURATION', description: 'lifetime', default: '24h' },
    force: forceOption,
  },
  run(ctx) {
    noPositionals(ctx);
    const identity = requireString(ctx.values, 'identity');
    const out = requireString(ctx.values, 'out');
    try {
      parseIdentityName(identity);
    } catch (error) {
      throw new UsageError(`--identity: ${(error as Error).message}`);
    }
    const validForMs = validFor(ctx);
    const issuer = readSigner(ctx, 'issuer');
    const issued = issueWorkloadCertificate({
      issuer,
      identity,
      validForMs,
    });
    writeAllOrNothing(
      out,
      [
        { name: 'leaf.crt', content: issued.certPem, mode: PUBLIC },
        { name: 'leaf.key', content: issued.keyPem, mode: PRIVATE },
        { name: 'chain.crt', content: issued.chainPem, mode: PUBLIC },
      ],
      ctx.values.force === true,
    );
    ctx.stdout.write(
      `Workload certificate for ${identity} written to ${out} (leaf.crt, leaf.key, chain.crt)\n  valid until ${issued.notAfter.toISOString()}\n`,
    );
    warnIfCapped(ctx, issued.notAfter, validForMs, 'issuer');
    return 0;
  },
};

const bundleCommand: Command = {
  name: 'bundle',
  summary: 'Combine anchors into one trust bundle (deduplicated), e.g. old and new during a rotation',
  args: 'FILE...',
  options: {
    out: {
      type: 'string',
      valueName: 'FILE',
      description: 'write the bundle to FILE instead of standard output',
    },
    force: forceOption,
  },
  run(ctx) {
    if (ctx.positionals.length === 0) throw new UsageError('at least one certificate FILE is required');
    const bundle = buildBundle(
      ctx.positionals.map((file) => ({ pem: readInput(file, 'FILE'), source: file })),
    );
    const out = optionalString(ctx.values, 'out');
    if (!out) {
      ctx.stdout.write(bundle.pem);
      return 0;
    }
    writeAllOrNothing(
      dirname(out),
      [{ name: basename(out), content: bundle.pem, mode: PUBLIC }],
      ctx.values.force === true,
    );
    const dropped = bundle.duplicates ? ` (${bundle.duplicates} duplicate(s) dropped)` : '';
    ctx.stdout.write(`Trust bundle of ${bundle.certificates.length} anchor(s) written to ${out}${dropped}\n`);
    return 0;
  },
};

const inspectCommand: Command = {
  name: 'inspect',
  summary: 'Show the certificates in a file: names, validity, key, CA or not, and the chain they form',
  args: 'FILE',
  options: {
    ...outputOption,
    bundle: {
      type: 'string',
      valueName: 'FILE',
      description: 'also verify the chain against this trust bundle',
    },
  },
  run(ctx) {
    const format = outputFormat(ctx.values.output);
    if (ctx.positionals.length !== 1) throw new UsageError('exactly one FILE is required');
    const file = ctx.positionals[0] as string;
    const bundleFile = optionalString(ctx.values, 'bundle');
    const report = inspectCertificates(
      readInput(file, 'FILE'),
      file,
      bundleFile ? { pem: readInput(bundleFile, '--bundle'), file: bundleFile } : undefined,
    );
    ctx.stdout.write(format === 'table' ? formatInspectReport(report) : formatDocument(report, format));
    return report.verification && !report.verification.ok ? 1 : 0;
  },
};

/** `strait identity …`: trust anchors, issuers, bundles and offline workload certificates. */
export const identityCommand: Command = {
  name: 'identity',
  summary: 'Manage mesh identity: trust anchors, issuers, bundles and workload certificates',
  subcommands: [anchorCommand, issuerCommand, bundleCommand, issueCommand, inspectCommand],
};
