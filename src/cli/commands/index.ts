import type { Command } from '../command.ts';
import { checkCommand } from './check.ts';
import { demoCommand } from './demo.ts';
import { failoverCommand } from './failover.ts';
import { identityCommand } from './identity.ts';
import { injectCommand } from './inject.ts';
import { installCommand } from './install.ts';
import { localCommand } from './local.ts';
import { mcCommand } from './mc.ts';
import { tapCommand } from './tap.ts';
import { uninstallCommand } from './uninstall.ts';
import { upgradeCommand } from './upgrade.ts';
import { versionCommand } from './version.ts';

/** The `strait` command tree. Each group lives in its own module. */
export const rootCommand: Command = {
  name: 'strait',
  summary: 'Strait: a multi-cluster service mesh',
  description:
    'Strait secures and connects services across clusters, regions and clouds.\n' +
    'Every connection between proxies is mutually authenticated against a shared trust anchor.',
  subcommands: [
    checkCommand,
    demoCommand,
    failoverCommand,
    identityCommand,
    injectCommand,
    installCommand,
    localCommand,
    mcCommand,
    tapCommand,
    uninstallCommand,
    upgradeCommand,
    versionCommand,
  ],
};
