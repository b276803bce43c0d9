import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ClusterConfig, defaultPorts, writeClusterConfig } from '../platform/local/cluster-config.ts';
import { clusterDirectory } from '../platform/local/home.ts';
import { curlCommand, getInCluster } from './reach.ts';

function cluster(home: string, name: string, netns?: string): void {
  const dir = clusterDirectory(home, name);
  mkdirSync(dir, { recursive: true });
  const config: ClusterConfig = {
    name,
    index: 7,
    cidr: '127.7.0.0/16',
    controlPlaneAddress: '127.7.0.1',
    ports: defaultPorts(),
    trustDomain: 'cluster.local',
    clusterDomain: 'cluster.local',
    controlPlaneNamespace: 'strait',
    ...(netns ? { netns, externalAddress: '172.31.7.2' } : {}),
    createdAt: new Date().toISOString(),
  };
  writeClusterConfig(dir, config);
}

describe('reaching a demo cluster’s workloads from the host', () => {
  const home = mkdtempSync(join(tmpdir(), 'strait-reach-'));
  const server = http.createServer((request, response) => {
    response.statusCode = request.url === '/missing' ? 404 : 200;
    response.end(request.url === '/missing' ? 'no such page' : '{"west":3}');
  });
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    cluster(home, 'west');
    cluster(home, 'east', 'strait-7-east');
  });
  after(() => {
    server.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('GETs directly on a loopback block and returns the body', async () => {
    assert.equal(await getInCluster(home, 'west', `${base}/stats`), '{"west":3}');
  });

  it('names the URL and the status when the answer is not 2xx', async () => {
    await assert.rejects(
      getInCluster(home, 'west', `${base}/missing`),
      /GET .*\/missing: HTTP 404: no such page/,
    );
  });

  it('shows curl, inside the namespace when the cluster has one', () => {
    assert.equal(curlCommand(home, 'west', 'http://127.7.1.1:8080/'), "curl -s 'http://127.7.1.1:8080/'");
    assert.equal(
      curlCommand(home, 'east', 'http://127.7.1.1:8080/'),
      "ip netns exec strait-7-east curl -s 'http://127.7.1.1:8080/'",
    );
  });
});
