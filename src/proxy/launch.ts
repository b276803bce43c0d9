import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Node flags for proxy processes. A small young generation: about 25 MB less
 * RSS under load at no measurable CPU cost (bench/results/proxy.json). GC on
 * the main thread only: a parallel scavenge waits for helper threads, which
 * on a busy machine are not scheduled in time (median pause 1.0 → 0.2 ms,
 * longest 49–89 → 1–2 ms at 1,000 req/s, docs/proxy.md).
 */
export const PROXY_NODE_ARGS: readonly string[] = ['--max-semi-space-size=2', '--single-threaded-gc'];

// src/proxy/ and dist/proxy/ are both two levels below the package root.
const packageRoot = new URL('../../', import.meta.url);

/** The data-plane entry points, which `npm install` (and the image's build) also compiles to dist/. */
export const DATA_PLANE_ENTRIES = ['proxy', 'gateway'] as const;
export type DataPlaneEntry = (typeof DATA_PLANE_ENTRIES)[number];

/** Whether `entry` (a file name under src/cmd/, without extension) is one of DATA_PLANE_ENTRIES. */
export function isDataPlaneEntry(entry: string): entry is DataPlaneEntry {
  return (DATA_PLANE_ENTRIES as readonly string[]).includes(entry);
}

/** Both files a data-plane process may run from: its TypeScript source and the compiled build. */
export function dataPlaneEntryFiles(
  name: DataPlaneEntry,
  root: URL = packageRoot,
): { source: string; compiled: string } {
  return {
    source: fileURLToPath(new URL(`src/cmd/${name}.ts`, root)),
    compiled: fileURLToPath(new URL(`dist/cmd/${name}.js`, root)),
  };
}

/**
 * The file to run for a data-plane process: the JavaScript compiled at install
 * (dist/, see scripts/build-proxy.ts) while it is newer than every source it
 * was built from, else the TypeScript source.
 */
export function dataPlaneEntry(name: DataPlaneEntry, root: URL = packageRoot): string {
  const { source, compiled } = dataPlaneEntryFiles(name, root);
  try {
    const manifest = JSON.parse(readFileSync(new URL('dist/manifest.json', root), 'utf8')) as {
      builtAt: number;
      sources: string[];
    };
    for (const file of manifest.sources) {
      const stat = statSync(new URL(file, root), { throwIfNoEntry: false });
      if (!stat || stat.mtimeMs > manifest.builtAt) return source;
    }
    return statSync(compiled, { throwIfNoEntry: false }) ? compiled : source;
  } catch {
    return source;
  }
}
