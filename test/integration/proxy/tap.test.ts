import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { runProcess } from '../../fixtures/process.ts';
import { STRAIT } from '../../fixtures/strait-cli.ts';
import { testMesh, viaProxy } from './helpers.ts';
import { type MeshedPair, meshedPair } from './meshed-pair.ts';
import { tapWhileSending } from './tap-stream.ts';

describe('strait tap', () => {
  const mesh = testMesh();
  let pair: MeshedPair;

  before(async () => {
    pair = await meshedPair(
      mesh,
      http.createServer((_req, res) => res.end('ok')),
      { service: 'web', caller: 'frontend' },
    );
  });

  after(() => pair.close());

  it('streams request metadata from a proxy, filtered by path', async () => {
    const { client, authority } = pair;
    const tap = await tapWhileSending(client.ports.tap, ['--path', '/tapped', '-n', '2'], async () => {
      await viaProxy(client.ports.outbound, `http://${authority}/ignored`);
      await viaProxy(client.ports.outbound, `http://${authority}/tapped/x`);
    });
    assert.equal(tap.code, 0, tap.err);
    const lines = tap.out.trim().split('\n');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.match(
        line,
        /^req proxy=out .*:method=GET :authority=web\.shop\.svc\.cluster\.local:\d+ :path=\/tapped\/x status=200 latency=\d+µs/,
      );
      assert.match(line, /server_id=web\.shop\.serviceaccount\.identity\.strait\.cluster\.local/);
    }
  });

  it('fails with a hint when nothing listens at the address', async () => {
    const result = await runProcess(process.execPath, [STRAIT, 'tap', '--address', '127.0.0.1:1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /E_TAP/);
  });
});
