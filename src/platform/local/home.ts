import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { StraitError } from '../../core/errors.ts';

/** The directory holding every local cluster and the CLI's config: $STRAIT_HOME, else ~/.strait. */
export function straitHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.STRAIT_HOME && env.STRAIT_HOME !== '' ? env.STRAIT_HOME : join(homedir(), '.strait');
}

/** The state directory of the local cluster `name`. */
export function clusterDirectory(home: string, name: string): string {
  return join(home, 'clusters', name);
}

/** Names of the local clusters created under `home` (up or down). */
export function listClusterNames(home: string): string[] {
  const root = join(home, 'clusters');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'cluster.json')))
    .map((entry) => entry.name)
    .sort();
}

/** The CLI's own settings in $STRAIT_HOME/config (YAML). */
export interface HomeConfig {
  'current-context'?: string;
}

export function readHomeConfig(home: string): HomeConfig {
  const file = join(home, 'config');
  if (!existsSync(file)) return {};
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new StraitError('E_CONFIG', `${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new StraitError('E_CONFIG', `${file} is not a YAML mapping`);
  }
  return parsed as HomeConfig;
}

export function writeHomeConfig(home: string, config: HomeConfig): void {
  mkdirSync(home, { recursive: true });
  writeFileAtomic(join(home, 'config'), toYaml(config));
}

/** Writes through a temporary file and a rename, so readers never see half a file. */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, content, { mode });
  renameSync(temporary, file);
}
