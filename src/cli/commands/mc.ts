import type { Command } from '../command.ts';
import { mcAllowCommand, mcInstallCommand, mcUninstallCommand } from './mc-install.ts';
import { mcLinkCommand, mcLinkGenCommand, mcUnlinkCommand } from './mc-link.ts';
import { mcCheckCommand, mcGatewaysCommand } from './mc-status.ts';

/** `strait mc` (alias `multicluster`): link clusters and inspect the links. */
export const mcCommand: Command = {
  name: 'mc',
  aliases: ['multicluster'],
  summary: 'Link clusters: gateways, links, mirrored services',
  description:
    'Link clusters that share a trust anchor. A cluster installs its gateway (mc install); a source\n' +
    'cluster links to a target (mc link, or mc link-gen on the target applied to the source); the\n' +
    'target’s exported services then appear in the source as <svc>-<cluster>.',
  subcommands: [
    mcInstallCommand,
    mcLinkGenCommand,
    mcLinkCommand,
    mcUnlinkCommand,
    mcAllowCommand,
    mcGatewaysCommand,
    mcCheckCommand,
    mcUninstallCommand,
  ],
};
