import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

/** A file under testdata/manifests. */
export function testdataPath(name: string): string {
  return new URL(`../../../../testdata/manifests/${name}`, import.meta.url).pathname;
}

/**
 * Compares `actual` with the golden file; with UPDATE_GOLDEN=1 in the
 * environment, rewrites the file instead.
 */
export function assertGolden(name: string, actual: string): void {
  const path = testdataPath(name);
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(path, actual);
    return;
  }
  let expected: string;
  try {
    expected = readFileSync(path, 'utf8');
  } catch {
    assert.fail(`${path} is missing; run the test with UPDATE_GOLDEN=1 to write it`);
  }
  assert.equal(actual, expected, `${path} differs; if the change is intended, rerun with UPDATE_GOLDEN=1`);
}
