import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { StraitError, UsageError } from '../../core/errors.ts';
import { type TapEvent, TapService } from '../../gen/strait/tap/v1/tap_pb.js';
import type { Command } from '../command.ts';
import { outputFormat } from '../output.ts';
import { readInput } from './identity-files.ts';

/** One line per request, in the spirit of `linkerd tap`. */
function formatEvent(event: TapEvent): string {
  const parts = [
    `req proxy=${event.direction === 'outbound' ? 'out' : 'in'}`,
    `src=${event.source || '-'}`,
    `dst=${event.destination || '-'}`,
    `tls=${event.serverId || event.clientId ? 'true' : 'no_identity'}`,
    `:method=${event.method}`,
    `:authority=${event.authority}`,
    `:path=${event.path}`,
    `status=${event.status}`,
    `latency=${Math.round(event.latencyMs * 1000)}µs`,
  ];
  if (event.serverId) parts.push(`server_id=${event.serverId}`);
  if (event.clientId) parts.push(`client_id=${event.clientId}`);
  if (event.error) parts.push(`error=${JSON.stringify(event.error)}`);
  return `${parts.join(' ')}\n`;
}

/** Plaintext, or mTLS when a client certificate is given. */
function tapTransport(address: string, values: Record<string, unknown>) {
  const files = { cert: values.cert, key: values.key, ca: values.ca };
  const given = Object.entries(files).filter(([, v]) => v !== undefined);
  if (given.length === 0) return createGrpcTransport({ baseUrl: `http://${address}` });
  if (given.length !== 3) {
    throw new UsageError('--cert, --key and --ca go together', 'an mTLS tap needs all three files');
  }
  const expected = values['proxy-identity'] as string | undefined;
  return createGrpcTransport({
    baseUrl: `https://${address}`,
    nodeOptions: {
      cert: readInput(String(files.cert), '--cert'),
      key: readInput(String(files.key), '--key'),
      ca: readInput(String(files.ca), '--ca'),
      minVersion: 'TLSv1.3',
      ...(expected ? { servername: expected } : {}),
      // The chain is verified against --ca; the name is the proxy's identity, not the address.
      checkServerIdentity: (_host, cert) => {
        const presented = /DNS:([^,\s]+)/.exec(cert.subjectaltname ?? '')?.[1];
        if (!expected || presented === expected) return undefined;
        return new StraitError(
          'E_TAP_IDENTITY',
          `the tap presented ${presented ?? 'no identity'}, expected ${expected}`,
        );
      },
    },
  });
}

export const tapCommand: Command = {
  name: 'tap',
  summary: "Stream live request metadata from a proxy's tap port",
  description:
    'Connects to a proxy tap port (4190 by default) and prints one line per request:\n' +
    'direction, addresses, identities, method, authority, path, status and latency.\n' +
    'A tap on a loopback address is plaintext. Elsewhere it is mTLS and admits only\n' +
    'allowed identities (by default the strait namespace): pass --cert/--key/--ca, e.g.\n' +
    'from `strait identity issue --identity tap.strait.serviceaccount.identity.<trust domain>`.',
  options: {
    address: {
      type: 'string',
      valueName: 'HOST:PORT',
      default: '127.0.0.1:4190',
      description: "the proxy's tap address",
    },
    authority: { type: 'string', valueName: 'AUTHORITY', description: 'only requests to this authority' },
    path: { type: 'string', valueName: 'PREFIX', description: 'only requests whose path starts with this' },
    method: { type: 'string', valueName: 'METHOD', description: 'only requests with this method' },
    max: { type: 'string', short: 'n', valueName: 'N', description: 'stop after N requests' },
    output: { type: 'string', short: 'o', valueName: 'FORMAT', description: 'json (one object per line)' },
    cert: {
      type: 'string',
      valueName: 'FILE',
      description: 'client certificate chain (PEM), for an mTLS tap',
    },
    key: { type: 'string', valueName: 'FILE', description: 'its private key (PEM)' },
    ca: { type: 'string', valueName: 'FILE', description: 'trust bundle that the proxy chains to (PEM)' },
    'proxy-identity': {
      type: 'string',
      valueName: 'NAME',
      description: "the proxy's identity, checked when given (else any mesh identity)",
    },
  },
  async run(ctx) {
    const format = outputFormat(ctx.values.output, ['json']);
    const address = String(ctx.values.address);
    if (!/^(\[[^\]]+\]|[^:]+):\d+$/.test(address)) {
      throw new UsageError(`--address "${address}" is not HOST:PORT`, 'for example --address 127.1.0.7:4190');
    }
    const limit = ctx.values.max === undefined ? 0 : Number(ctx.values.max);
    if (!Number.isInteger(limit) || limit < 0) throw new UsageError(`-n "${ctx.values.max}" is not a count`);
    const client = createClient(TapService, tapTransport(address, ctx.values));
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    try {
      const stream = client.observe(
        {
          limit,
          authority: String(ctx.values.authority ?? ''),
          pathPrefix: String(ctx.values.path ?? ''),
          method: String(ctx.values.method ?? '').toUpperCase(),
        },
        { signal: abort.signal },
      );
      for await (const event of stream) {
        ctx.stdout.write(format === 'json' ? `${JSON.stringify(event)}\n` : formatEvent(event));
      }
    } catch (error) {
      if (abort.signal.aborted) return 0;
      throw new StraitError('E_TAP', `tap ${address}: ${(error as Error).message}`, {
        hint: 'is a proxy listening there? its tap port is set by STRAIT_PROXY_TAP_ADDR',
      });
    } finally {
      process.off('SIGINT', stop);
    }
    return 0;
  },
};
