// `strait demo` as a user runs it: a real process playing the whole scenario, interrupted with
// Ctrl-C (SIGINT) or killed outright, and cleaned up afterwards. As root the clusters run in
// network namespaces (and, with --loopback, on loopback blocks): neither mode leaves a process,
// a directory, a namespace or a veth link behind.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { networkNamespacesSupported } from '../../../src/platform/local/netns.ts';
import { outputOf, strait, straitInBackground } from '../../fixtures/strait-cli.ts';

/** As root with iproute2 the demo puts each cluster in its own network namespace. */
const NETNS = networkNamespacesSupported();
const CALLER = 'frontend.shop.serviceaccount.identity.strait.cluster.local';

interface Demo {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startDemo(home: string, args: string[]): Demo {
  const child = straitInBackground(home, ['demo', ...args]);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return { child, output: () => outputOf(child), exited };
}

async function outputReaches(demo: Demo, pattern: RegExp): Promise<void> {
  while (!pattern.test(demo.output())) {
    if (demo.child.exitCode !== null) assert.fail(`the demo exited before ${pattern}:\n${demo.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Processes still running with the demo's home in their environment. */
function leftovers(home: string): string[] {
  const marker = Buffer.from(`STRAIT_HOME=${join(home, 'demo')}\0`);
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`).includes(marker)) {
        found.push(`${entry}: ${readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ')}`);
      }
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/**
 * A cluster's network namespace and the host's end of its veth link (`sthN` for `strait-N-…`),
 * by identity: the namespace's inode and the link's ifindex, so that a namespace of the same name
 * made meanwhile by another run on this machine is not taken for a leftover.
 */
interface ClusterNetwork {
  namespace: string;
  inode: number;
  ifindex: number;
}

function namespaceInode(name: string): number | undefined {
  try {
    return statSync(`/run/netns/${name}`).ino;
  } catch {
    return undefined;
  }
}

function vethIndex(namespace: string): number | undefined {
  try {
    return Number(readFileSync(`/sys/class/net/sth${namespace.split('-')[1]}/ifindex`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Checks the first step's word on where the clusters run (the demo has passed it) and, in network
 * namespaces, that both exist with their links; returns them.
 */
function clusterNetworks(output: string, netns: boolean): ClusterNetwork[] {
  const namespaces = [...output.matchAll(/in network namespace (strait-\d+-\w+)/g)].map(
    (match) => match[1] as string,
  );
  if (!netns) {
    assert.match(output, /Each cluster gets its own loopback block/);
    assert.deepEqual(namespaces, []);
    return [];
  }
  assert.match(output, /Each cluster gets its own network namespace/);
  assert.equal(namespaces.length, 2, output);
  return namespaces.map((namespace) => {
    const inode = namespaceInode(namespace);
    const ifindex = vethIndex(namespace);
    assert.ok(inode !== undefined && ifindex !== undefined, `${namespace} and its link exist`);
    return { namespace, inode, ifindex };
  });
}

/** Whether a process of another Strait home runs in the namespace (within a few seconds). */
async function takenByAnotherHome(namespace: string, home: string): Promise<boolean> {
  const ours = `STRAIT_HOME=${join(home, 'demo')}`;
  for (let attempt = 0; attempt < 20; attempt++) {
    let pids: string[] = [];
    try {
      pids = execFileSync('ip', ['netns', 'pids', namespace], { encoding: 'utf8' }).split('\n');
    } catch {
      return false;
    }
    for (const pid of pids.filter(Boolean)) {
      try {
        const theirs = readFileSync(`/proc/${pid}/environ`, 'utf8')
          .split('\0')
          .find((entry) => entry.startsWith('STRAIT_HOME='));
        if (theirs && theirs !== ours) return true;
      } catch {
        // exited meanwhile
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function assertNothingLeft(home: string, networks: ClusterNetwork[] = []): Promise<void> {
  assert.deepEqual(leftovers(home), []);
  assert.equal(existsSync(join(home, 'demo')), false, 'the demo home is removed');
  for (const { namespace, inode, ifindex } of networks) {
    // Link indexes are not reused at once; namespace inodes may be, so a namespace of the same
    // name is another run's only when another home's processes run in it.
    assert.notEqual(vethIndex(namespace), ifindex, `the veth link of ${namespace} is removed`);
    if (namespaceInode(namespace) === inode && !(await takenByAnotherHome(namespace, home))) {
      assert.fail(`network namespace ${namespace} is left behind`);
    }
  }
}

describe('strait demo (real processes)', { timeout: 900_000 }, () => {
  const homes: string[] = [];
  const newHome = () => {
    const home = mkdtempSync(join(tmpdir(), 'strait-demo-'));
    homes.push(home);
    return home;
  };
  after(async () => {
    for (const home of homes) {
      await strait(home, ['demo', 'down']);
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('Ctrl-C in the middle stops everything and leaves no state; the next run passes', async () => {
    const home = newHome();
    const interrupted = startDemo(home, ['--ci']);
    await outputReaches(interrupted, /\[3\/10\]/);
    const interruptedNetworks = clusterNetworks(interrupted.output(), NETNS);
    interrupted.child.kill('SIGINT');
    assert.equal(await interrupted.exited, 130, interrupted.output());
    assert.match(interrupted.output(), /Interrupted: stopping everything/);
    assert.match(interrupted.output(), /^demo: interrupted after \d+\/10 steps/m);
    await assertNothingLeft(home, interruptedNetworks);

    const run = startDemo(home, ['--ci']);
    await outputReaches(run, /\[3\/10\]/);
    const networks = clusterNetworks(run.output(), NETNS);
    const code = await run.exited;
    const output = run.output();
    assert.equal(code, 0, output);
    assert.match(output, /^demo: all 10 steps passed in \d+s$/m);
    // The evidence each step promised.
    assert.match(output, /^\s+backend-east\s+8080\/TCP,9090\/TCP/m);
    assert.match(output, /^\s+east\s+true\s+1\s/m);
    assert.match(output, /"http":\{"ok":true,"cluster":"east"/);
    assert.match(output, /"grpc":\{"ok":true,"cluster":"east"/);
    // East's back end answers with the caller its proxy verified: west's front end, carried by
    // east's gateway, whatever the front end claimed in strait-client-id.
    assert.match(
      output,
      new RegExp(`✓ http: east’s back end saw caller ${CALLER.replaceAll('.', '\\.')}$`, 'm'),
    );
    assert.match(
      output,
      new RegExp(`✓ grpc: east’s back end saw caller ${CALLER.replaceAll('.', '\\.')}$`, 'm'),
    );
    assert.match(output, /shop\s+backend\s+Failover\s+backend-east\s+backend=0,backend-east=100/);
    assert.match(
      output,
      /backend=25 backend-east=75\n\s+backend=50 backend-east=50\n\s+backend=100 backend-east=0/,
    );
    assert.match(
      output,
      /shop\s+backend\s+Primary\s+backend\s+backend=100,backend-east=0\s+\S+\s+RampCompleted/,
    );
    await assertNothingLeft(home, networks);
  });

  it('strait demo down removes what a killed demo left behind', async () => {
    const home = newHome();
    const killed = startDemo(home, ['--ci']);
    await outputReaches(killed, /\[3\/10\]/);
    const networks = clusterNetworks(killed.output(), NETNS);
    killed.child.kill('SIGKILL');
    await killed.exited;
    // Give the background processes started just before the kill a moment to appear.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.notDeepEqual(leftovers(home), [], 'a killed demo leaves its clusters running');

    const down = await strait(home, ['demo', 'down']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /demo removed/);
    await assertNothingLeft(home, networks);
  });

  it('with --loopback: loopback blocks even as root, and Ctrl-C still leaves nothing', async () => {
    const home = newHome();
    const demo = startDemo(home, ['--ci', '--loopback']);
    await outputReaches(demo, /\[3\/10\]/);
    clusterNetworks(demo.output(), false);
    assert.match(demo.output(), /loopback block \(--loopback\)/);
    demo.child.kill('SIGINT');
    assert.equal(await demo.exited, 130, demo.output());
    await assertNothingLeft(home);
  });
});
