import { existsSync } from 'node:fs';
import { demoDown, demoHome, runDemo } from '../../demo/run.ts';
import type { Command } from '../command.ts';

const demoDownCommand: Command = {
  name: 'down',
  summary: 'Stop a demo left running with --keep (or interrupted) and remove its state',
  async run(ctx) {
    const home = demoHome(ctx.env);
    if (!existsSync(home)) {
      ctx.stdout.write(`no demo to remove (${home} does not exist)\n`);
      return 0;
    }
    await demoDown(home, ctx.env, (line) => ctx.stdout.write(`${line}\n`));
    ctx.stdout.write(`demo removed (${home})\n`);
    return 0;
  },
};

export const demoCommand: Command = {
  name: 'demo',
  summary: 'Play the multi-cluster scenario on this machine: link, call across, split, fail over, fail back',
  description:
    'Brings up two local clusters, west and east, sharing one trust anchor (each in its own network\n' +
    'namespace when run as root with iproute2, else on its own loopback block), runs a small application\n' +
    'in both and walks through linking, calling across, a 50/50 split, failover and failback, showing\n' +
    'each command and its evidence. State lives in $STRAIT_DEMO_HOME (default $STRAIT_HOME/demo), never\n' +
    'in your own clusters. Ctrl-C stops everything it started.',
  options: {
    keep: {
      type: 'boolean',
      description: 'leave everything running at the end (stop with `strait demo down`)',
    },
    ci: {
      type: 'boolean',
      description: 'non-interactive: no progress redraws, a summary line, exit 1 on failure',
    },
    loopback: {
      type: 'boolean',
      description: 'run the clusters on loopback blocks even as root (default: network namespaces when root)',
    },
  },
  subcommands: [demoDownCommand],
  async run(ctx) {
    const abort = new AbortController();
    const interrupt = () => {
      if (abort.signal.aborted) ctx.stderr.write('still cleaning up; it will be done in a moment\n');
      else abort.abort();
    };
    process.on('SIGINT', interrupt);
    process.on('SIGTERM', interrupt);
    try {
      return await runDemo({
        env: ctx.env,
        out: ctx.stdout,
        keep: ctx.values.keep === true,
        ci: ctx.values.ci === true,
        loopback: ctx.values.loopback === true,
        signal: abort.signal,
      });
    } finally {
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', interrupt);
    }
  },
};
