import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MirrorMetrics } from './metrics.ts';
import { histogramQuantiles } from './metrics-text.ts';

describe('mirror metrics text', () => {
  it('renders per-cluster series and reads probe latency quantiles back', () => {
    const metrics = new MirrorMetrics();
    const east = metrics.link('east');
    east.gatewayAlive = 1;
    east.mirroredServices = 3;
    for (let i = 0; i < 98; i++) east.probeLatencyMs.observe(3);
    east.probeLatencyMs.observe(40);
    east.probeLatencyMs.observe(400);
    metrics.link('north').probeLatencyMs.observe(1000);
    const text = metrics.render();
    assert.match(text, /^gateway_alive\{target_cluster_name="east"\} 1$/m);
    assert.match(text, /^mirrored_services\{target_cluster_name="east"\} 3$/m);
    assert.match(text, /^# TYPE mirror_propagation_seconds histogram$/m);
    assert.match(text, /^remote_last_sync_timestamp_seconds\{target_cluster_name="north"\} 0$/m);
    assert.deepEqual(
      histogramQuantiles(text, 'gateway_probe_latency_ms', { target_cluster_name: 'east' }, [0.5, 0.99, 1]),
      [3, 40, 400],
    );
    assert.deepEqual(
      histogramQuantiles(text, 'gateway_probe_latency_ms', { target_cluster_name: 'west' }, [0.5]),
      [undefined],
    );
  });
});
