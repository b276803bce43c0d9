import type { Command } from '../command.ts';
import { localDownCommand, localStatusCommand, localUpCommand, localUseCommand } from './local-cluster.ts';
import { localKubeconfigCommand } from './local-kubeconfig.ts';
import { localApplyCommand, localDeleteCommand, localGetCommand } from './local-resources.ts';
import { localRunCommand } from './local-run.ts';

/** `strait local`: clusters as processes on this host, and their resources. */
export const localCommand: Command = {
  name: 'local',
  summary: 'Run clusters as processes on this host and manage their resources',
  description:
    'Local clusters run on this host: each is a state directory under $STRAIT_HOME (default ~/.strait)\n' +
    'and one control-plane process, on its own loopback block 127.N.0.0/16.',
  subcommands: [
    localUpCommand,
    localDownCommand,
    localStatusCommand,
    localUseCommand,
    localRunCommand,
    localApplyCommand,
    localGetCommand,
    localDeleteCommand,
    localKubeconfigCommand,
  ],
};
