import { RetryBudget } from '../balance/retry-budget.ts';
import { EMPTY_PROFILE, type Profile, type ProfileSource } from '../discovery/profile.ts';
import type { Logger } from '../log.ts';

/**
 * The live profile of one target. A request reads `profile` and `budget` once
 * when it starts, so an update changes later requests only.
 */
export class ProfileEntry {
  profile: Profile = EMPTY_PROFILE;
  budget: RetryBudget;
  known = false;
  lastUsed = Date.now();
  stop: () => void = () => {};
  #budgetKey = '';
  readonly #waiters: Array<() => void> = [];

  constructor(defaultBudget: RetryBudget) {
    this.budget = defaultBudget;
  }

  apply(profile: Profile, defaultBudget: RetryBudget): void {
    this.profile = profile;
    const b = profile.retryBudget;
    const key = b ? `${b.retryRatio}/${b.minRetriesPerSecond}/${b.ttlMs}` : '';
    // Keep the window of counted requests unless the budget itself changed.
    if (key !== this.#budgetKey) {
      this.#budgetKey = key;
      this.budget = b ? new RetryBudget(b) : defaultBudget;
    }
    this.known = true;
    for (const wake of this.#waiters.splice(0)) wake();
  }

  /** Resolves once the first profile arrived, or after `timeoutMs` (the empty profile then applies). */
  ready(timeoutMs: number): Promise<void> {
    if (this.known) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const index = this.#waiters.indexOf(wake);
        if (index >= 0) this.#waiters.splice(index, 1);
        resolve();
      }, timeoutMs);
      this.#waiters.push(wake);
    });
  }
}

/**
 * Calls `use` with `authority`'s profile and retry budget: at once when the
 * profile is known (without a cache: the empty profile and `budget`), else once
 * the first profile comes or `timeoutMs` passes.
 */
export function withProfile(
  profiles: ProfileCache | undefined,
  authority: string,
  timeoutMs: number,
  budget: RetryBudget,
  use: (profile: Profile, budget: RetryBudget) => void,
): void {
  const entry = profiles?.get(authority);
  if (!entry) use(EMPTY_PROFILE, budget);
  else if (entry.known) use(entry.profile, entry.budget);
  else void entry.ready(timeoutMs).then(() => use(entry.profile, entry.budget));
}

/** Profiles by target authority, each watched while in use. */
export class ProfileCache {
  readonly #entries = new Map<string, ProfileEntry>();
  readonly #source: ProfileSource;
  readonly #log: Logger;
  readonly #defaultBudget: RetryBudget;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: { source: ProfileSource; log: Logger; defaultBudget: RetryBudget; idleMs?: number }) {
    this.#source = options.source;
    this.#log = options.log;
    this.#defaultBudget = options.defaultBudget;
    const idleMs = options.idleMs ?? 60_000;
    this.#sweeper = setInterval(
      () => {
        const cutoff = Date.now() - idleMs;
        for (const [authority, entry] of this.#entries) {
          if (entry.lastUsed < cutoff) {
            entry.stop();
            this.#entries.delete(authority);
          }
        }
      },
      Math.min(idleMs, 10_000),
    ).unref();
  }

  get(authority: string): ProfileEntry {
    let entry = this.#entries.get(authority);
    if (entry) {
      entry.lastUsed = Date.now();
      return entry;
    }
    const created = new ProfileEntry(this.#defaultBudget);
    created.stop = this.#source.watchProfile(
      authority,
      (profile) => created.apply(profile, this.#defaultBudget),
      (error) => {
        // Requests must not wait on a profile that will not come.
        if (!created.known) created.apply(EMPTY_PROFILE, this.#defaultBudget);
        this.#log.warn('profile stream failed; keeping the last profile', {
          authority,
          error: error.message,
        });
      },
    );
    entry = created;
    this.#entries.set(authority, entry);
    return entry;
  }

  close(): void {
    clearInterval(this.#sweeper);
    for (const entry of this.#entries.values()) entry.stop();
    this.#entries.clear();
  }
}
