#!/usr/bin/env node
// Strait runs on Node 24 or later. When started by an older Node, hand over to
// the Node 24 binary that `npm install` placed in node_modules.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../src/cmd/strait.ts', import.meta.url));
const major = Number(process.versions.node.split('.')[0]);
if (major >= 24) {
  await import(entry);
} else {
  const bundled = fileURLToPath(new URL('../node_modules/.bin/node', import.meta.url));
  if (!existsSync(bundled)) {
    process.stderr.write(
      `Error: strait needs Node 24 or later (this is ${process.version}); run npm install\n`,
    );
    process.exit(1);
  }
  const result = spawnSync(bundled, [entry, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status ?? 1);
}
