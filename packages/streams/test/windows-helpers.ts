import { seeded } from "./helpers.js";

/** Generated page views for the windowing tests, and helpers to fold test outputs. */

export interface View {
  user: string;
  page: string;
  ts: number;
}

export const MINUTE = 60_000;
export const SECOND = 1000;

/**
 * `n` page views of `users` users moving forward in time (~`stepMs` apart), with a
 * fraction a few seconds late (within grace) and a fraction minutes late (past it).
 */
export function pageViews(
  n: number,
  options: { seed: number; users: number; stepMs: number; slightlyLate: number; veryLate: number },
): View[] {
  const rand = seeded(options.seed);
  const out: View[] = [];
  let now = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
  for (let i = 0; i < n; i++) {
    now += Math.floor(rand() * options.stepMs * 2);
    let ts = now;
    const r = rand();
    if (r < options.veryLate) ts = now - (2 + Math.floor(rand() * 5)) * MINUTE;
    else if (r < options.veryLate + options.slightlyLate)
      ts = now - Math.floor(rand() * 8 * SECOND);
    out.push({
      user: `user-${Math.floor(rand() * options.users)}`,
      page: `/p/${Math.floor(rand() * 20)}`,
      ts,
    });
  }
  return out;
}

/** The latest value per key of a changelog-style output (null removes the key). */
export function latestByKey<V>(records: readonly (readonly [string, V | null])[]): Map<string, V> {
  const out = new Map<string, V>();
  for (const [k, v] of records) {
    if (v === null) out.delete(k);
    else out.set(k, v);
  }
  return out;
}
