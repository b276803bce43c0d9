// The proxy process: configuration from STRAIT_PROXY_* and/or the file named
// by STRAIT_PROXY_CONFIG. SIGTERM/SIGINT and POST /shutdown drain gracefully.
import { describeError } from '../core/errors.ts';
import { loadProxyConfig } from '../proxy/config.ts';
import { startProxy } from '../proxy/proxy.ts';

try {
  const proxy = await startProxy(loadProxyConfig());
  const stop = () => void proxy.close();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await proxy.closed;
  process.exit(0);
} catch (error) {
  process.stderr.write(`strait-proxy: ${describeError(error)}\n`);
  process.exit(1);
}
