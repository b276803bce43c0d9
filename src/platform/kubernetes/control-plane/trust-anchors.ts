import { readFile } from 'node:fs/promises';
import { loadBundle } from '../../../pki/index.ts';
import { ControlPlaneConfigError } from './config.ts';
import { type FileWatch, pollForChange } from './poll.ts';

/** Reads and checks the trust bundle file (the mounted trust-roots ConfigMap). */
export async function readTrustAnchors(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (error) {
    throw new ControlPlaneConfigError(
      `trust anchors ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      { cause: error },
    );
  }
  try {
    loadBundle(pem, path);
  } catch (error) {
    throw new ControlPlaneConfigError(`trust anchors ${path}: ${(error as Error).message}`, { cause: error });
  }
  return pem;
}

/**
 * Calls `onChange` with the bundle whenever the file differs from the last
 * one accepted, as after `strait upgrade` adds or drops an anchor (polled).
 */
export function watchTrustAnchors(
  path: string,
  current: string,
  onChange: (pem: string) => void,
  options: { intervalMs?: number; onError?: (error: unknown) => void } = {},
): FileWatch {
  return pollForChange(
    () => readTrustAnchors(path),
    current,
    (a, b) => a === b,
    onChange,
    options,
  );
}
