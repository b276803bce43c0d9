// The multi-cluster gateway process. Identity, destination and ports come from
// the proxy's settings (STRAIT_PROXY_*: data on the inbound port 4143, probe
// and admin on 4191); the gateway's own from STRAIT_GATEWAY_* (see
// src/multicluster/gateway/start.ts). With STRAIT_GATEWAY_EXIT_WITH_STDIN=1 it
// stops when its stdin closes: a supervising parent (a local control plane)
// holds the other end, so the gateway never outlives it, even when it is killed.
import { describeError } from '../core/errors.ts';
import { gatewaySettingsFromEnv, startGateway } from '../multicluster/gateway/start.ts';
import { loadProxyConfig } from '../proxy/config.ts';
import { idleCompilersAfterWarmUp } from '../proxy/idle-compilers.ts';
import { createLogger } from '../proxy/log.ts';
import { memorySaverOnceInUse } from '../proxy/memory-saver.ts';
import { startMemoryTrim } from '../proxy/memory-trim.ts';

try {
  const proxy = loadProxyConfig();
  startMemoryTrim(proxy.memoryTrimMs);
  idleCompilersAfterWarmUp(proxy.idleCompilersAfterMs);
  const gateway = await startGateway({ proxy, ...gatewaySettingsFromEnv(process.env) });
  memorySaverOnceInUse(proxy.memorySaverAfterMs, (cpuMs) =>
    createLogger(proxy.logLevel).info('heap in memory-saver mode', { cpuMs }),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void gateway.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  if (process.env.STRAIT_GATEWAY_EXIT_WITH_STDIN === '1') {
    process.stdin.once('end', stop);
    process.stdin.once('error', stop);
    process.stdin.resume();
  }
  process.stdout.write('ready\n');
} catch (error) {
  process.stderr.write(`strait-gateway: ${describeError(error)}\n`);
  process.exit(1);
}
