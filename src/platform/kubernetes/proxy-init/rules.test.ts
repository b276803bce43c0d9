import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePortList } from './ports.ts';
import { chainRules, defaultProxyInitConfig } from './rules.ts';

describe('parsePortList', () => {
  it('reads ports and ranges, ignoring spaces and empty items', () => {
    assert.deepEqual(parsePortList(' 25, 4190-4191,,', 'skip'), [
      { from: 25, to: 25 },
      { from: 4190, to: 4191 },
    ]);
    assert.deepEqual(parsePortList('', 'skip'), []);
  });

  it('names the input and the bad item', () => {
    for (const bad of ['0', '65536', '10-5', 'http', '1-2-3']) {
      assert.throws(() => parsePortList(bad, 'config.strait.io/skip-inbound-ports'), {
        code: 'E_PORT_LIST',
        message: `config.strait.io/skip-inbound-ports: "${bad}" is not a port or a port range`,
      });
    }
  });
});

describe('chainRules', () => {
  it('skips the proxy ports inbound, then redirects to the inbound port', () => {
    const { inbound } = chainRules(defaultProxyInitConfig());
    assert.deepEqual(
      inbound.map((rule) => rule.join(' ')),
      [
        '-t nat -A STRAIT_PROXY_INBOUND -p tcp -m multiport --dports 4190,4191 -j RETURN',
        '-t nat -A STRAIT_PROXY_INBOUND -p tcp -j REDIRECT --to-ports 4143',
      ],
    );
  });

  it('lets the proxy UID and loopback out before redirecting to the outbound port', () => {
    const config = { ...defaultProxyInitConfig(), skipOutboundPorts: parsePortList('443', 'skip') };
    assert.deepEqual(
      chainRules(config).outbound.map((rule) => rule.join(' ')),
      [
        '-t nat -A STRAIT_PROXY_OUTPUT -m owner --uid-owner 2102 -j RETURN',
        '-t nat -A STRAIT_PROXY_OUTPUT -o lo -j RETURN',
        '-t nat -A STRAIT_PROXY_OUTPUT -p tcp -m multiport --dports 443 -j RETURN',
        '-t nat -A STRAIT_PROXY_OUTPUT -p tcp -j REDIRECT --to-ports 4140',
      ],
    );
  });

  it('splits long port lists into multiport rules of at most 15 ports', () => {
    const ports = Array.from({ length: 20 }, (_, i) => `${1000 + i * 10}`).join(',');
    const config = {
      ...defaultProxyInitConfig(),
      proxyPorts: [],
      skipInboundPorts: parsePortList(ports, 'skip'),
    };
    const skips = chainRules(config).inbound.filter((rule) => rule.includes('RETURN'));
    assert.equal(skips.length, 2);
    const first = skips[0] as string[];
    assert.equal(first[first.indexOf('--dports') + 1]?.split(',').length, 15);
  });
});
