import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaPem } from '../../../pki/index.ts';
import { ControlPlaneConfigError } from './config.ts';
import { type FileWatch, pollForChange } from './poll.ts';

/** Reads the issuer Secret's files, `tls.crt` and `tls.key`, from `dir`. */
export async function readIssuerDir(dir: string): Promise<CaPem> {
  const read = async (file: string) => {
    const path = join(dir, file);
    try {
      return { pem: await readFile(path, 'utf8'), path };
    } catch (error) {
      throw new ControlPlaneConfigError(
        `issuer ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
        {
          hint: 'STRAIT_IDENTITY_ISSUER_DIR must be the mounted strait-identity-issuer Secret',
          cause: error,
        },
      );
    }
  };
  const [cert, key] = await Promise.all([read('tls.crt'), read('tls.key')]);
  return { certPem: cert.pem, keyPem: key.pem, certSource: cert.path, keySource: key.path };
}

/**
 * Calls `onChange` whenever the issuer files in `dir` differ from the last
 * ones accepted (polled; see pollForChange).
 */
export function watchIssuerDir(
  dir: string,
  current: CaPem,
  onChange: (issuer: CaPem) => void,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): FileWatch {
  return pollForChange(
    () => readIssuerDir(dir),
    current,
    (a, b) => a.certPem === b.certPem && a.keyPem === b.keyPem,
    onChange,
    options,
  );
}
