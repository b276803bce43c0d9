import { execFile } from 'node:child_process';
import { StraitError } from '../../../core/errors.ts';
import { chainRules, JUMPS, type ProxyInitConfig } from './rules.ts';

/** Runs one iptables command; resolves to its exit code, rejecting only when it cannot start. */
export type IptablesRunner = (args: string[]) => Promise<{ code: number; stderr: string }>;

/** Runs `program` (default `iptables`; `ip6tables` for IPv6) with the given arguments. */
export function iptablesRunner(program = 'iptables'): IptablesRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(program, ['-w', ...args], (error, _stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new StraitError('E_IPTABLES', `cannot run ${program}: ${error.message}`, {
              hint: 'proxy-init needs iptables and the NET_ADMIN capability',
              cause: error,
            }),
          );
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stderr });
      });
    });
}

/**
 * Installs the rules so that running it again gives the same table: Strait's
 * chains are created or flushed and refilled, and each jump into them is
 * added only when missing. Returns the commands that changed the table.
 */
export async function applyProxyInit(config: ProxyInitConfig, run: IptablesRunner): Promise<string[][]> {
  const applied: string[][] = [];
  const must = async (args: string[]) => {
    const result = await run(args);
    if (result.code !== 0) {
      throw new StraitError('E_IPTABLES', `iptables ${args.join(' ')} failed: ${result.stderr.trim()}`, {
        hint: 'proxy-init needs the NET_ADMIN capability',
      });
    }
    applied.push(args);
  };
  const rules = chainRules(config);
  for (const { to } of JUMPS) {
    const created = await run(['-t', 'nat', '-N', to]);
    if (created.code === 0) applied.push(['-t', 'nat', '-N', to]);
    else await must(['-t', 'nat', '-F', to]);
  }
  for (const rule of [...rules.inbound, ...rules.outbound]) await must(rule);
  for (const { from, to } of JUMPS) {
    const present = await run(['-t', 'nat', '-C', from, '-j', to]);
    if (present.code !== 0) await must(['-t', 'nat', '-A', from, '-j', to]);
  }
  return applied;
}

/** Removes the jumps and Strait's chains; missing ones are not an error. */
export async function removeProxyInit(run: IptablesRunner): Promise<void> {
  for (const { from, to } of JUMPS) {
    while ((await run(['-t', 'nat', '-D', from, '-j', to])).code === 0);
  }
  for (const { to } of JUMPS) {
    await run(['-t', 'nat', '-F', to]);
    await run(['-t', 'nat', '-X', to]);
  }
}
