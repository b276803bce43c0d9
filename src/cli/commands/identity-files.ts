import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StraitError } from '../../core/errors.ts';

/** One file a command will write. */
export interface OutputFile {
  name: string;
  content: string;
  /** 0o600 for private keys, 0o644 otherwise. */
  mode: number;
}

/** Reads a file named by a flag; throws E_FILE_READ naming the flag and the path. */
export function readInput(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StraitError('E_FILE_READ', `${flag} ${path}: cannot read the file (${reason})`);
  }
}

/**
 * Writes all files into `dir` or none: every file goes to a temporary name
 * first and is renamed into place only when all were written. Existing files
 * are never replaced unless `force` is set.
 */
export function writeAllOrNothing(dir: string, files: OutputFile[], force: boolean): string[] {
  const targets = files.map((file) => join(dir, file.name));
  if (!force) {
    const existing = targets.filter((target) => existsSync(target));
    if (existing.length > 0) {
      throw new StraitError(
        'E_FILE_EXISTS',
        `${existing.join(', ')} already exist${existing.length === 1 ? 's' : ''}`,
        {
          hint: 'choose another --out directory, or pass --force to replace them',
        },
      );
    }
  }
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw new StraitError(
      'E_FILE_WRITE',
      `--out ${dir}: cannot create the directory (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  const suffix = `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const temporary: string[] = [];
  try {
    files.forEach((file, index) => {
      const path = `${targets[index]}${suffix}`;
      writeFileSync(path, file.content, { mode: file.mode, flag: 'wx' });
      temporary.push(path);
    });
  } catch (error) {
    for (const path of temporary) rmSync(path, { force: true });
    throw new StraitError(
      'E_FILE_WRITE',
      `--out ${dir}: cannot write (${(error as NodeJS.ErrnoException).code})`,
    );
  }
  temporary.forEach((path, index) => {
    renameSync(path, targets[index] as string);
  });
  return targets;
}
