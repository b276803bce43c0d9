import { StraitError } from '../../../core/errors.ts';

/** A TCP port or an inclusive range of ports, as iptables' multiport writes it. */
export interface PortRange {
  from: number;
  to: number;
}

/**
 * Parses a port list such as `25,4190-4191, 8080` (the form of the
 * `config.strait.io/skip-*-ports` annotations and of proxy-init's flags).
 * An empty text is an empty list. Throws E_PORT_LIST naming `what`.
 */
export function parsePortList(text: string, what: string): PortRange[] {
  const ranges: PortRange[] = [];
  for (const part of text.split(',')) {
    const item = part.trim();
    if (item === '') continue;
    const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    const from = Number(match?.[1]);
    const to = match?.[2] === undefined ? from : Number(match[2]);
    if (!match || !validPort(from) || !validPort(to) || to < from) {
      throw new StraitError('E_PORT_LIST', `${what}: "${item}" is not a port or a port range`, {
        hint: 'write ports between 1 and 65535 separated by commas, ranges as 4190-4191',
      });
    }
    ranges.push({ from, to });
  }
  return ranges;
}

/** Writes ranges back in the list form: `25,4190-4191`. */
export function formatPortList(ranges: PortRange[]): string {
  return ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(',');
}

function validPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}
