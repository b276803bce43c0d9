import { formatAge } from '../../core/duration.ts';
import { isStraitError } from '../../core/errors.ts';
import { type Certificate, describeKey, loadBundle, loadCertificates, verifyChain } from '../../pki/index.ts';

/** What `strait identity inspect` reports about one certificate. */
export interface CertificateReport {
  subject: string;
  issuer: string;
  dnsNames: string[];
  otherNames: string[];
  notBefore: string;
  notAfter: string;
  status: 'valid' | 'expired' | 'not yet valid';
  keyType: string;
  ca: boolean;
  pathLength?: number;
  keyUsage?: string[];
  extendedKeyUsage: string[];
  selfSigned: boolean;
  serialNumber: string;
  sha256: string;
  /** Critical extensions Strait does not process; a chain through this certificate is refused. */
  unsupportedCriticalExtensions?: string[];
  /** Index (0-based, in the file) of the certificate that signed this one, when it is in the file. */
  signedBy?: number;
}

export interface InspectReport {
  file: string;
  certificates: CertificateReport[];
  /** How the certificates chain, leaf first, e.g. "1 ← 2 ← 3 (self-signed)". */
  chain: string;
  /** Present when a trust bundle was given. */
  verification?: { ok: boolean; anchor?: string; error?: string };
}

/** Describes the certificates in a file and the chain they form; optionally verifies it against a bundle. */
export function inspectCertificates(
  pem: string,
  file: string,
  bundle?: { pem: string; file: string },
  now = new Date(),
): InspectReport {
  const certificates = loadCertificates(pem, file);
  const reports = certificates.map((certificate) => describe(certificate, certificates, now));
  const report: InspectReport = { file, certificates: reports, chain: describeChain(reports) };
  if (bundle) {
    const anchors = loadBundle(bundle.pem, bundle.file);
    try {
      const verified = verifyChain(certificates[0] as Certificate, certificates.slice(1), anchors, { now });
      report.verification = { ok: true, anchor: verified.anchor.subject };
    } catch (error) {
      if (!isStraitError(error)) throw error;
      report.verification = { ok: false, error: `${error.message} (${error.code})` };
    }
  }
  return report;
}

function describe(certificate: Certificate, all: Certificate[], now: Date): CertificateReport {
  const signer = all.findIndex(
    (candidate) =>
      candidate !== certificate &&
      certificate.x509.checkIssued(candidate.x509) &&
      certificate.x509.verify(candidate.x509.publicKey),
  );
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    dnsNames: certificate.dnsNames,
    otherNames: certificate.otherNames,
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    status: now < certificate.notBefore ? 'not yet valid' : now > certificate.notAfter ? 'expired' : 'valid',
    keyType: describeKey(certificate.x509.publicKey),
    ca: certificate.isCa,
    ...(certificate.pathLength === undefined ? {} : { pathLength: certificate.pathLength }),
    ...(certificate.keyUsage === undefined ? {} : { keyUsage: certificate.keyUsage }),
    extendedKeyUsage: certificate.extendedKeyUsage,
    selfSigned: certificate.selfSigned,
    serialNumber: certificate.serialNumber,
    sha256: certificate.fingerprint,
    ...(certificate.unknownCriticalExtensions.length
      ? { unsupportedCriticalExtensions: certificate.unknownCriticalExtensions }
      : {}),
    ...(signer === -1 ? {} : { signedBy: signer }),
  };
}

function describeChain(reports: CertificateReport[]): string {
  const parts: string[] = [];
  const seen = new Set<number>();
  for (let index: number | undefined = 0; index !== undefined && !seen.has(index); ) {
    seen.add(index);
    const report = reports[index] as CertificateReport;
    parts.push(`${index + 1}${report.selfSigned ? ' (self-signed)' : ''}`);
    index = report.selfSigned ? undefined : report.signedBy;
  }
  const last = reports[[...seen].at(-1) as number] as CertificateReport;
  const ending = last.selfSigned ? '' : ` ← (not in file: ${last.issuer || 'unknown issuer'})`;
  const unused = reports.length - seen.size;
  return `${parts.join(' ← ')}${ending}${unused > 0 ? `; ${unused} certificate(s) not part of this chain` : ''}`;
}

/** The human-readable form of an inspect report. */
export function formatInspectReport(report: InspectReport, now = new Date()): string {
  const lines: string[] = [];
  report.certificates.forEach((cert, index) => {
    const remaining = new Date(cert.notAfter).getTime() - now.getTime();
    const when =
      cert.status === 'valid'
        ? `expires in ${formatAge(remaining)}`
        : cert.status === 'expired'
          ? 'EXPIRED'
          : 'NOT YET VALID';
    lines.push(
      `Certificate ${index + 1} of ${report.certificates.length}`,
      `  Subject:        ${cert.subject || '(empty)'}`,
      `  Issuer:         ${cert.issuer || '(empty)'}${cert.selfSigned ? ' (self-signed)' : ''}`,
      `  DNS names:      ${cert.dnsNames.join(', ') || '-'}`,
      ...(cert.otherNames.length ? [`  Other names:    ${cert.otherNames.join(', ')}`] : []),
      `  Valid:          ${cert.notBefore} to ${cert.notAfter} (${when})`,
      `  Key:            ${cert.keyType}`,
      `  CA:             ${cert.ca ? `yes${cert.pathLength === undefined ? '' : `, path length ${cert.pathLength}`}` : 'no'}`,
      `  Key usage:      ${cert.keyUsage?.join(', ') ?? '-'}`,
      `  Ext. key usage: ${cert.extendedKeyUsage.join(', ') || '-'}`,
      ...(cert.unsupportedCriticalExtensions
        ? [
            `  Unsupported:    critical extensions ${cert.unsupportedCriticalExtensions.join(', ')} (refused when verifying)`,
          ]
        : []),
      `  Serial:         ${cert.serialNumber}`,
      `  SHA-256:        ${cert.sha256}`,
      '',
    );
  });
  lines.push(`Chain: ${report.chain}`);
  if (report.verification) {
    lines.push(
      report.verification.ok
        ? `Verified: ✓ chains to ${report.verification.anchor}`
        : `Verified: × ${report.verification.error}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
