import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// src/proxy/ and dist/proxy/ are both two levels below the package root.
const BUILD = new URL('../../native/build/Release/', import.meta.url);

/** A Node-API addon that `npm install` built from native/, or null when it was not built. */
export function loadNativeAddon<T>(name: string): T | null {
  try {
    return require(new URL(`${name}.node`, BUILD).pathname) as T;
  } catch {
    return null;
  }
}
