import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';

// Needs root, `ip`, `iptables` and the native addon (built at install).
describe('transparent proxying behind iptables REDIRECT (SO_ORIGINAL_DST)', () => {
  it('forwards a redirected connection to its original destination', () => {
    const ns = `strait-proxy-test-${process.pid}`;
    execFileSync('ip', ['netns', 'add', ns]);
    try {
      const fixture = new URL('./fixtures/transparent-proxy.ts', import.meta.url).pathname;
      const out = execFileSync('ip', ['netns', 'exec', ns, process.execPath, fixture], {
        timeout: 60_000,
        stdio: ['ignore', 'pipe', 'inherit'],
      }).toString();
      const result = JSON.parse(out.trim().split('\n').at(-1) as string);
      assert.equal(result.client.status, 200);
      // The application saw the proxy (root, not redirected) connect from loopback to its address.
      assert.equal(result.client.body, 'app saw /via-redirect from 10.77.0.2');
      assert.equal(result.proxied, 1, 'the request went through the proxy');
    } finally {
      execFileSync('ip', ['netns', 'delete', ns]);
    }
  });
});
