// The proxy process: configuration from STRAIT_PROXY_* and/or the file named
// by STRAIT_PROXY_CONFIG. SIGTERM/SIGINT and POST /shutdown drain gracefully.
import module from 'node:module';

// Cache compiled (and type-stripped) modules on disk: later starts are faster
// and skip the TypeScript transform, which saves tens of MB of RSS.
module.enableCompileCache?.();
const { describeError } = await import('../core/errors.ts');
const { loadProxyConfig } = await import('../proxy/config.ts');
const { startProxy } = await import('../proxy/proxy.ts');
const { startMemoryTrim } = await import('../proxy/memory-trim.ts');
const { idleCompilersAfterWarmUp } = await import('../proxy/idle-compilers.ts');
const { memorySaverOnceInUse } = await import('../proxy/memory-saver.ts');
const { createLogger } = await import('../proxy/log.ts');

try {
  const config = loadProxyConfig();
  startMemoryTrim(config.memoryTrimMs);
  idleCompilersAfterWarmUp(config.idleCompilersAfterMs);
  const proxy = await startProxy(config);
  memorySaverOnceInUse(config.memorySaverAfterMs, (cpuMs) =>
    createLogger(config.logLevel).info('heap in memory-saver mode', { cpuMs }),
  );
  const stop = () => void proxy.close();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await proxy.closed;
  process.exit(0);
} catch (error) {
  process.stderr.write(`strait-proxy: ${describeError(error)}\n`);
  process.exit(1);
}
