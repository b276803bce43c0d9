// Builds the SO_ORIGINAL_DST addon at install. Only Linux needs it (iptables
// REDIRECT); elsewhere, or without a compiler, the proxy still runs and says
// so when transparent mode is asked for. Then compiles the proxy to
// JavaScript (scripts/build-proxy.ts) where the scripts are present: the
// image's build stage has only package.json and native/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

if (process.platform === 'linux') buildAddon();
const buildProxy = new URL('../scripts/build-proxy.ts', import.meta.url).pathname;
if (existsSync(buildProxy)) spawnSync(process.execPath, [buildProxy], { stdio: 'inherit' });

function buildAddon(): void {
  const npmGyp = process.env.npm_config_node_gyp;
  const [command, args] = npmGyp ? [process.execPath, [npmGyp]] : ['node-gyp', []];
  const result = spawnSync(command, [...args, 'rebuild'], {
    cwd: dirname(new URL(import.meta.url).pathname),
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    process.stderr.write(
      `strait: could not build ${join('native', 'original_dst.c')} (status ${result.status}); ` +
        'transparent proxying (iptables REDIRECT) will be unavailable. Install python3, make and a C compiler, then run `npm rebuild`.\n',
    );
  }
}
