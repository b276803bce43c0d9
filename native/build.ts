// Builds the native addons at install: SO_ORIGINAL_DST (iptables REDIRECT), the
// malloc trimmer and idle-priority compiler threads. Only Linux needs them;
// elsewhere, or without a compiler, the proxy still runs, says so when
// transparent mode is asked for, keeps the memory its arenas freed and compiles
// at normal priority. Then compiles the proxy to
// JavaScript (scripts/build-proxy.ts) where the scripts are present: the
// image's build stage has only package.json and native/.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

if (process.platform === 'linux') buildAddons();
const buildProxy = new URL('../scripts/build-proxy.ts', import.meta.url).pathname;
if (existsSync(buildProxy)) spawnSync(process.execPath, [buildProxy], { stdio: 'inherit' });

function buildAddons(): void {
  const npmGyp = process.env.npm_config_node_gyp;
  const [command, args] = npmGyp ? [process.execPath, [npmGyp]] : ['node-gyp', []];
  const result = spawnSync(command, [...args, 'rebuild'], {
    cwd: dirname(new URL(import.meta.url).pathname),
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    process.stderr.write(
      `strait: could not build the native addons in native/ (status ${result.status}); ` +
        'transparent proxying (iptables REDIRECT) will be unavailable, proxies will not trim freed memory ' +
        'and their compiler threads keep normal priority. ' +
        'Install python3, make and a C compiler, then run `npm rebuild`.\n',
    );
  }
}
