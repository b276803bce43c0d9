import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isGatewayProcess } from './gateway-supervisor.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/** A real process whose command line names `entry`, as a gateway's does. */
async function processNaming(entry: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', entry], { stdio: 'ignore' });
  children.push(child);
  await once(child, 'spawn');
  assert.ok(child.pid);
  return child.pid;
}

describe('isGatewayProcess', () => {
  it('recognises a gateway run from the TypeScript source or the compiled build', async () => {
    const source = fileURLToPath(new URL('../../../cmd/gateway.ts', import.meta.url));
    const compiled = fileURLToPath(new URL('../../../../dist/cmd/gateway.js', import.meta.url));
    assert.equal(isGatewayProcess(await processNaming(source)), true);
    assert.equal(isGatewayProcess(await processNaming(compiled)), true);
  });

  it('leaves other processes alone, and a pid that no longer runs', async () => {
    const proxy = fileURLToPath(new URL('../../../cmd/proxy.ts', import.meta.url));
    assert.equal(isGatewayProcess(await processNaming(proxy)), false);
    assert.equal(isGatewayProcess(process.pid), false);
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await once(gone, 'exit');
    assert.ok(gone.pid);
    assert.equal(isGatewayProcess(gone.pid), false);
  });
});
