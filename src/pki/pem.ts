import { PkiError } from './errors.ts';

/** One `-----BEGIN <label>-----` block. */
export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Every PEM block in `text`, in order. Throws E_PEM_INVALID naming `source`
 * when there is none or one is damaged.
 */
export function readPemBlocks(text: string, source: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, label, body, endLabel] = match as unknown as [string, string, string, string];
    if (label !== endLabel) {
      throw new PkiError('E_PEM_INVALID', `${source}: PEM block "${label}" ends with "${endLabel}"`);
    }
    const base64 = body
      .split(/\r?\n/)
      .filter((line) => line.trim() !== '' && !line.includes(':'))
      .join('')
      .replace(/\s+/g, '');
    if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
      throw new PkiError('E_PEM_INVALID', `${source}: PEM block "${label}" is not valid base64`);
    }
    blocks.push({ label, der: new Uint8Array(Buffer.from(base64, 'base64')) });
  }
  if (blocks.length === 0) {
    throw new PkiError('E_PEM_INVALID', `${source}: no PEM data found`, {
      hint: 'expected text starting with "-----BEGIN CERTIFICATE-----" or "-----BEGIN PRIVATE KEY-----"',
    });
  }
  return blocks;
}

/** Encodes DER as PEM with 64-character lines. */
export function toPem(label: string, der: Uint8Array): string {
  const base64 = Buffer.from(der).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
