import { StraitError } from './errors.ts';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go-style duration ("24h", "87600h", "1h30m", "500ms", "3s") into
 * milliseconds. `what` names the input in the error, e.g. "--valid-for".
 */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) {
    throw new StraitError('E_DURATION', `${what}: "${text}" has no unit`, {
      hint: 'write a duration such as 30s, 5m, 24h or 1h30m',
    });
  }
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = pattern.exec(trimmed); match; match = pattern.exec(trimmed)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = pattern.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw new StraitError('E_DURATION', `${what}: "${text}" is not a duration`, {
      hint: 'write a duration such as 30s, 5m, 24h or 1h30m',
    });
  }
  return Math.round(total);
}

/** Formats milliseconds the way kubectl prints ages: 45s, 3m, 5h, 12d. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}
