// Starts the west and east test clusters and keeps them up until Ctrl-C, for
// poking at them by hand: node test/kubernetes/harness/up.ts
import { startTestClusters } from './clusters.ts';

const clusters = await startTestClusters();
process.stdout.write(
  `west ${clusters.west.server}\neast ${clusters.east.server}\n` +
    `export KUBECONFIG=${clusters.kubeconfig}\nlogs in ${clusters.west.dir} and ${clusters.east.dir}\n`,
);
const stop = async () => {
  await clusters.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
