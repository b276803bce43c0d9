import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** Resolves a name to its addresses; `node:dns` lookup by default. */
export type AddressResolver = (name: string) => Promise<string[]>;

export const dnsResolver: AddressResolver = async (name) =>
  (await lookup(name, { all: true })).map((entry) => entry.address);

/**
 * Every IP the gateway entries stand for, sorted so that the mirror
 * Endpoints are written the same way each time. Names that do not resolve
 * are skipped; the result is empty when none does.
 */
export async function resolveGatewayAddresses(
  entries: readonly string[],
  resolve: AddressResolver = dnsResolver,
): Promise<string[]> {
  const ips = new Set<string>();
  await Promise.all(
    entries.map(async (entry) => {
      if (isIP(entry)) {
        ips.add(entry);
        return;
      }
      try {
        for (const ip of await resolve(entry)) ips.add(ip);
      } catch {
        // Unresolvable now; the next repair pass tries again.
      }
    }),
  );
  return [...ips].sort();
}
