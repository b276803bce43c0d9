// A local cluster's control-plane process: `node src/cmd/control-plane.ts --cluster-dir DIR`.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeError } from '../core/errors.ts';
import { clusterFiles } from '../platform/local/cluster-config.ts';
import { startControlPlane } from '../platform/local/control-plane.ts';
import { processAlive } from '../platform/local/controllers/workload-reaper.ts';

const { values } = parseArgs({ options: { 'cluster-dir': { type: 'string' } } });
const dir = values['cluster-dir'];
if (!dir) {
  process.stderr.write('usage: control-plane --cluster-dir DIR\n');
  process.exit(2);
}
const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
const files = clusterFiles(dir);
if (existsSync(files.pid)) {
  const pid = Number(readFileSync(files.pid, 'utf8'));
  if (pid !== process.pid && processAlive(pid)) {
    log(`another control plane (pid ${pid}) runs for ${dir}`);
    process.exit(1);
  }
}
writeFileSync(files.pid, `${process.pid}\n`);

try {
  const running = await startControlPlane({
    dir,
    log,
    kubernetesTargets: async (...args) =>
      (await import('../cli/commands/mc-kubernetes.ts')).remoteKubernetes(...args),
  });
  log(`control plane of cluster ${running.config.name} is ready`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    running
      .close()
      .catch((error: unknown) => log(`while stopping: ${describeError(error)}`))
      .finally(() => {
        rmSync(files.pid, { force: true });
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (error) {
  log(`cannot start: ${describeError(error)}`);
  rmSync(files.pid, { force: true });
  process.exit(1);
}
