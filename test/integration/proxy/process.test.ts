import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { idleCompilersAvailable, V8_WORKER } from '../../../src/proxy/idle-compilers.ts';
import { memoryTrimAvailable } from '../../../src/proxy/memory-trim.ts';
import { threadsNamed } from '../../../src/proxy/process-threads.ts';
import { listen, testMesh, viaProxy } from './helpers.ts';

const entry = new URL('../../../src/cmd/proxy.ts', import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  ports: Record<string, number>;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Runs `node src/cmd/proxy.ts` with `env` and waits for its "proxy started" line. */
function runProxy(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, [entry], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr?.on('data', (d) => {
      text += d;
      const line = text.split('\n').find((l) => l.includes('"proxy started"'));
      if (!line) return;
      const fields = JSON.parse(line) as Record<string, string>;
      const port = (address: string) => Number(address.slice(address.lastIndexOf(':') + 1));
      resolve({
        child,
        ports: {
          inbound: port(fields.inbound ?? ''),
          outbound: port(fields.outbound ?? ''),
          admin: port(fields.admin ?? ''),
        },
        stderr: () => text,
        exit,
      });
    });
    void exit.then((code) => reject(new Error(`proxy exited with ${code}: ${text}`)));
  });
}

const loopbackPorts = {
  STRAIT_PROXY_INBOUND_ADDR: '127.0.0.1:0',
  STRAIT_PROXY_OUTBOUND_ADDR: '127.0.0.1:0',
  STRAIT_PROXY_ADMIN_ADDR: '127.0.0.1:0',
  STRAIT_PROXY_TAP_ADDR: '127.0.0.1:0',
};

describe('the proxy process', () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const child of children) child.kill('SIGKILL');
  });

  it('serves /live, /ready and /metrics, refuses GET /shutdown, and drains on POST /shutdown', async () => {
    const mesh = testMesh();
    const dir = mkdtempSync(join(tmpdir(), 'strait-proxy-'));
    const material = mesh.material('web', 'shop');
    writeFileSync(join(dir, 'cert.pem'), material.certChain);
    writeFileSync(join(dir, 'key.pem'), material.key);
    writeFileSync(join(dir, 'bundle.pem'), material.trustBundle);
    const waiting: Array<() => void> = [];
    const app = http.createServer((_req, res) => waiting.push(() => res.end('late but whole')));
    const appPort = await listen(app);
    writeFileSync(
      join(dir, 'proxy.json'),
      JSON.stringify({
        endpoints: { [`slow.shop.svc.cluster.local:${appPort}`]: [{ address: '127.0.0.1', port: appPort }] },
      }),
    );
    const proxy = await runProxy({
      ...loopbackPorts,
      STRAIT_PROXY_CONFIG: join(dir, 'proxy.json'),
      STRAIT_PROXY_IDENTITY_CERT_FILE: join(dir, 'cert.pem'),
      STRAIT_PROXY_IDENTITY_KEY_FILE: join(dir, 'key.pem'),
      STRAIT_PROXY_TRUST_BUNDLE_FILE: join(dir, 'bundle.pem'),
    });
    children.push(proxy.child);
    const admin = `http://127.0.0.1:${proxy.ports.admin}`;
    assert.equal(await (await fetch(`${admin}/live`)).text(), 'live\n');
    assert.equal((await fetch(`${admin}/ready`)).status, 200);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    assert.match(metrics, /identity_cert_expiration_timestamp_seconds \d+/);
    assert.equal((await fetch(`${admin}/shutdown`)).status, 405);

    const inFlight = viaProxy(
      proxy.ports.outbound as number,
      `http://slow.shop.svc.cluster.local:${appPort}/`,
    );
    while (waiting.length === 0) await new Promise((r) => setTimeout(r, 20));
    const shutdown = await fetch(`${admin}/shutdown`, { method: 'POST' });
    assert.equal(shutdown.status, 200);
    for (const reply of waiting) reply();
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(res.body, 'late but whole');
    assert.equal(await proxy.exit, 0);
    app.close();
  });

  it('hands freed memory back to the kernel from a thread of its own, unless STRAIT_PROXY_MEMORY_TRIM_MS is 0', {
    skip: memoryTrimAvailable() ? false : 'the malloc_trim addon is not built (npm install builds it)',
  }, async () => {
    const trimming = await runProxy(loopbackPorts);
    const notTrimming = await runProxy({ ...loopbackPorts, STRAIT_PROXY_MEMORY_TRIM_MS: '0' });
    children.push(trimming.child, notTrimming.child);
    assert.ok(threadsNamed('malloc-trim', trimming.child.pid as number).length > 0);
    assert.equal(threadsNamed('malloc-trim', notTrimming.child.pid as number).length, 0);
  });

  it("moves V8's compiler threads to SCHED_IDLE once the proxy has used STRAIT_PROXY_IDLE_COMPILERS_AFTER_MS of CPU time", {
    skip: idleCompilersAvailable() ? false : 'the idle_threads addon is not built (npm install builds it)',
  }, async () => {
    const SCHED_IDLE = 5;
    // Field 41 of /proc/<pid>/task/<tid>/stat, counted after the command name's closing parenthesis.
    const policies = (pid: number) =>
      threadsNamed(V8_WORKER, pid).map((tid) =>
        Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]?.split(' ')[38]),
      );
    const warmedUp = await runProxy({ ...loopbackPorts, STRAIT_PROXY_IDLE_COMPILERS_AFTER_MS: '1' });
    const warmingUp = await runProxy({ ...loopbackPorts, STRAIT_PROXY_IDLE_COMPILERS_AFTER_MS: '600000' });
    const never = await runProxy({ ...loopbackPorts, STRAIT_PROXY_IDLE_COMPILERS_AFTER_MS: '0' });
    children.push(warmedUp.child, warmingUp.child, never.child);
    const idle = () => policies(warmedUp.child.pid as number);
    for (let waited = 0; !idle().every((policy) => policy === SCHED_IDLE) && waited < 10_000; waited += 100) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(idle().length > 0);
    assert.ok(
      idle().every((policy) => policy === SCHED_IDLE),
      `policies ${idle()}`,
    );
    for (const proxy of [warmingUp, never]) {
      const normal = policies(proxy.child.pid as number);
      assert.ok(normal.length > 0);
      assert.ok(
        normal.every((policy) => policy === 0),
        `policies ${normal}`,
      );
    }
  });

  it("puts V8's heap in memory-saver mode once the proxy has used STRAIT_PROXY_MEMORY_SAVER_AFTER_MS of CPU time serving", async () => {
    const saving = await runProxy({ ...loopbackPorts, STRAIT_PROXY_MEMORY_SAVER_AFTER_MS: '20' });
    const never = await runProxy({ ...loopbackPorts, STRAIT_PROXY_MEMORY_SAVER_AFTER_MS: '0' });
    children.push(saving.child, never.child);
    const line = /"msg":"heap in memory-saver mode","cpuMs":(\d+)/;
    await new Promise((r) => setTimeout(r, 1500));
    assert.doesNotMatch(saving.stderr(), line, 'an idle proxy switched');
    // Traffic: admin requests until the switch is logged.
    for (let waited = 0; !line.test(saving.stderr()) && waited < 10_000; waited += 100) {
      await Promise.all(
        [saving, never].map(async (proxy) =>
          (await fetch(`http://127.0.0.1:${proxy.ports.admin}/metrics`)).text(),
        ),
      );
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(Number(line.exec(saving.stderr())?.[1]) >= 20, saving.stderr());
    assert.doesNotMatch(never.stderr(), line);
  });

  it('exits 1 with a clear message on bad configuration', async () => {
    const child = spawn(process.execPath, [entry], {
      env: { ...process.env, STRAIT_PROXY_OUTBOUND_ADDR: 'nonsense' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const code = await new Promise((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /STRAIT_PROXY_OUTBOUND_ADDR: "nonsense" is not host:port \(E_PROXY_CONFIG\)/);
  });
});
