import type net from 'node:net';
import { ProxyError } from '../errors.ts';
import { loadNativeAddon } from '../native-addon.ts';

interface Addon {
  originalDestination(fd: number): { address: string; port: number };
}

let addon: Addon | null | undefined;

function load(): Addon | null {
  if (addon === undefined) addon = loadNativeAddon<Addon>('original_dst');
  return addon;
}

/** Whether the SO_ORIGINAL_DST addon (native/, built at install) is present. */
export function originalDestinationAvailable(): boolean {
  return load() !== null;
}

/**
 * The destination a connection was addressed to before an iptables REDIRECT
 * sent it to us. Throws E_ORIGINAL_DST when the socket was not redirected or
 * the addon is missing.
 */
export function originalDestination(socket: net.Socket): { address: string; port: number } {
  const native = load();
  if (!native) {
    throw new ProxyError('E_ORIGINAL_DST', 'the SO_ORIGINAL_DST addon is not built', {
      hint: 'install python3, make and a C compiler, then run `npm rebuild` in the strait package',
    });
  }
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) throw new ProxyError('E_ORIGINAL_DST', 'socket has no file descriptor');
  try {
    return native.originalDestination(fd);
  } catch (error) {
    throw new ProxyError('E_ORIGINAL_DST', (error as Error).message, { cause: error });
  }
}
