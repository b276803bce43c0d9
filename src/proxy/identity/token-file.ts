import { readFile } from 'node:fs/promises';
import { StraitError } from '../../core/errors.ts';

/**
 * A token source for IdentityClient that reads the platform credential from a
 * file before every request, so a token rotated on disk (a projected
 * service-account token, a refreshed local workload token) is picked up.
 */
export function tokenFromFile(path: string): () => Promise<Uint8Array> {
  return async () => {
    let content: Buffer;
    try {
      content = await readFile(path);
    } catch (error) {
      throw new StraitError(
        'E_TOKEN_FILE',
        `token file ${path}: cannot read it (${(error as NodeJS.ErrnoException).code})`,
        {
          hint: 'the platform writes the workload token there; check the path and that the workload was started by it',
        },
      );
    }
    const token = content.toString('utf8').trim();
    if (token.length === 0) throw new StraitError('E_TOKEN_FILE', `token file ${path}: it is empty`);
    return new TextEncoder().encode(token);
  };
}
