import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigMap } from '../../../core/api/core.ts';
import { gatewayConfigMap, parseGatewaySpec } from './gateway-spec.ts';

const withData = (data: Record<string, string>): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'strait-gateway', namespace: 'strait-multicluster' },
  data,
});

describe('gateway ConfigMap', () => {
  it('round-trips what mc install applies; replicas is left to the user and means 1 when absent', () => {
    const configMap = gatewayConfigMap({
      address: '127.3.0.1',
      port: 4143,
      probePort: 4191,
      allowedIdentities: ['*.west.example'],
      allowedNetworks: [],
    });
    assert.equal(configMap.data?.replicas, undefined);
    assert.deepEqual(parseGatewaySpec(configMap), {
      replicas: 1,
      address: '127.3.0.1',
      port: 4143,
      probePort: 4191,
      allowedIdentities: ['*.west.example'],
      allowedNetworks: [],
    });
  });

  it('reads replicas "0" as stopped and fills default ports', () => {
    const spec = parseGatewaySpec(withData({ replicas: ' 0 ', address: '172.31.4.2' }));
    assert.equal(spec.replicas, 0);
    assert.equal(spec.port, 4143);
    assert.equal(spec.probePort, 4191);
  });

  it('refuses what cannot run, naming the ConfigMap and the field', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ replicas: '2', address: '127.3.0.1' }, /replicas "2" must be 0 or 1/],
      [{ address: 'east.example' }, /address "east.example" is not an IP address/],
      [{ address: '127.3.0.1', port: '70000' }, /port "70000" is not a port/],
      [{ address: '127.3.0.1', probePort: 'x' }, /probePort "x" is not a port/],
      [{ address: '127.3.0.1', port: '4191' }, /port and probePort are both 4191/],
    ];
    for (const [data, message] of cases) {
      assert.throws(
        () => parseGatewaySpec(withData(data)),
        (error: Error & { code?: string }) =>
          error.code === 'E_GATEWAY_SPEC' &&
          /^ConfigMap strait-multicluster\/strait-gateway: /.test(error.message) &&
          message.test(error.message),
      );
    }
  });
});
