import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CaPem } from '../../../pki/index.ts';
import { ControlPlaneConfigError } from './config.ts';

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

export interface IssuerDirWatch {
  stop(): void;
}

/**
 * Polls `dir` and calls `onChange` with the issuer whenever its files differ
 * from the last ones seen. Polling rather than fs.watch: the kubelet updates a
 * mounted Secret by swapping a symlink, which inotify on the files misses.
 */
export function watchIssuerDir(
  dir: string,
  current: CaPem,
  onChange: (issuer: CaPem) => void,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): IssuerDirWatch {
  let last = current;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const next = await readIssuerDir(dir);
      if (next.certPem !== last.certPem || next.keyPem !== last.keyPem) {
        last = next;
        onChange(next);
      }
    } catch (error) {
      options.onError?.(error);
    } finally {
      busy = false;
    }
  }, options.intervalMs ?? 10_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
