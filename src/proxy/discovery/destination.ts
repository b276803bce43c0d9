import type { Client } from '@connectrpc/connect';
import type {
  DestinationService,
  Update,
  WeightedAddr,
} from '../../gen/strait/destination/v1/destination_pb.js';
import { type Profile, type ProfileSource, profileFromProto } from './profile.ts';
import type { Endpoint, EndpointUpdate, Resolver } from './types.ts';

/**
 * Endpoints and profiles from the destination service
 * (proto/strait/destination/v1): one `Get` or `GetProfile` stream per watched
 * target. A broken stream is reported to `onError` and re-opened after
 * `retryMs`; the caller keeps what it last knew.
 */
export class DestinationResolver implements Resolver, ProfileSource {
  readonly #client: Client<typeof DestinationService>;
  readonly #contextToken: string;
  readonly #retryMs: number;

  constructor(
    client: Client<typeof DestinationService>,
    options: { contextToken?: string; retryMs?: number } = {},
  ) {
    this.#client = client;
    this.#contextToken = options.contextToken ?? '';
    this.#retryMs = options.retryMs ?? 1000;
  }

  watch(
    target: string,
    onUpdate: (update: EndpointUpdate) => void,
    onError: (error: Error) => void,
  ): () => void {
    return this.#follow(
      (signal) => this.#client.get({ path: target, contextToken: this.#contextToken }, { signal }),
      (update) => onUpdate(fromProto(update)),
      onError,
    );
  }

  watchProfile(
    target: string,
    onProfile: (profile: Profile) => void,
    onError: (error: Error) => void,
  ): () => void {
    return this.#follow(
      (signal) => this.#client.getProfile({ path: target, contextToken: this.#contextToken }, { signal }),
      (message) =>
        onProfile(
          profileFromProto(message, (route, reason) =>
            onError(new Error(`profile of ${target}: route ${route} ignored: ${reason}`)),
          ),
        ),
      onError,
    );
  }

  #follow<T>(
    open: (signal: AbortSignal) => AsyncIterable<T>,
    onMessage: (message: T) => void,
    onError: (error: Error) => void,
  ): () => void {
    const abort = new AbortController();
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          for await (const message of open(abort.signal)) onMessage(message);
          if (abort.signal.aborted) return;
          onError(new Error('the stream ended; opening it again'));
        } catch (error) {
          if (abort.signal.aborted) return;
          onError(error as Error);
        }
        await new Promise((resolve) => setTimeout(resolve, this.#retryMs).unref());
      }
    };
    void run();
    return () => abort.abort();
  }
}

function fromProto(update: Update): EndpointUpdate {
  switch (update.update.case) {
    case 'add': {
      const shared = update.update.value.metricLabels;
      return { kind: 'add', endpoints: update.update.value.addrs.map((addr) => endpointOf(addr, shared)) };
    }
    case 'remove':
      return {
        kind: 'remove',
        addresses: update.update.value.addrs.map((a) => ({ address: a.ip, port: a.port })),
      };
    case 'noEndpoints':
      return { kind: 'none', exists: update.update.value.exists };
    default:
      return { kind: 'none', exists: false };
  }
}

function endpointOf(addr: WeightedAddr, shared: Record<string, string>): Endpoint {
  const endpoint: Endpoint = {
    address: addr.addr?.ip ?? '',
    port: addr.addr?.port ?? 0,
    weight: addr.weight,
    labels: { ...shared, ...addr.metricLabels },
  };
  if (addr.tlsIdentity) endpoint.tlsIdentity = addr.tlsIdentity;
  const hint = addr.protocolHint?.protocol.case;
  if (hint === 'h2') endpoint.protocolHint = 'h2';
  else if (hint === 'opaque') endpoint.protocolHint = 'opaque';
  if (addr.authorityOverride) endpoint.authorityOverride = addr.authorityOverride;
  if (addr.opaqueTransportPort) endpoint.opaqueTransportPort = addr.opaqueTransportPort;
  return endpoint;
}
