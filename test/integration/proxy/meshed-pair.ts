// An application in `shop` behind its own proxy, reached through a caller's proxy over mTLS: the
// set-up of tests that look at one meshed hop.
import type http from 'node:http';
import type { RunningProxy } from '../../../src/proxy/proxy.ts';
import { listen, meshedEndpoint, proxyWith, type TestMesh } from './helpers.ts';

/** The two proxies of one meshed hop and the authority the caller's proxy routes to the application. */
export interface MeshedPair {
  /** The application's proxy (inbound). */
  server: RunningProxy;
  /** The caller's proxy (outbound). */
  client: RunningProxy;
  /** `<service>.shop.svc.cluster.local:<application port>`. */
  authority: string;
  /** Closes both proxies and the application. */
  close(): Promise<void>;
}

/** What `meshedPair` starts. */
export interface MeshedPairOptions {
  /** The application's service and service account in `shop`. */
  service: string;
  /** The caller's service account in `shop`. */
  caller: string;
  /** Configuration of the application's proxy, over the test defaults. */
  server?: Record<string, unknown>;
}

/** Starts `app` on port 0, its proxy, and a caller's proxy whose endpoint for the authority is that proxy. */
export async function meshedPair(
  mesh: TestMesh,
  app: http.Server,
  options: MeshedPairOptions,
): Promise<MeshedPair> {
  const appPort = await listen(app);
  const authority = `${options.service}.shop.svc.cluster.local:${appPort}`;
  const server = await proxyWith(options.server ?? {}, {
    credentials: mesh.credentials(options.service, 'shop'),
  });
  const client = await proxyWith(
    { endpoints: { [authority]: [meshedEndpoint(server, appPort, mesh.identity(options.service, 'shop'))] } },
    { credentials: mesh.credentials(options.caller, 'shop') },
  );
  return {
    server,
    client,
    authority,
    async close() {
      await client.close();
      await server.close();
      app.close();
    },
  };
}
