import { type LogClient, partitionForKey } from "@tributary/log";
import type { PageView } from "./fixtures/page-views-app.js";
import { seeded } from "./helpers.js";

/**
 * Helpers of the worker tests for windows and joins: generated events, reference
 * computations written with plain loops (stream time kept per partition, as each task
 * keeps it), and waiting until an app's group has committed to the end of its topics.
 */

export const MINUTE = 60_000;
export const SECOND = 1000;

/**
 * `n` page views moving forward ~`stepMs` apart, a fraction `slightlyLate` up to 8 s late
 * (inside a 10 s grace) and a fraction `veryLate` 2 to 6 minutes late (past it). The
 * first 200 are on time, so no partition starts with a late one.
 */
export function generateViews(
  n: number,
  options: { seed: number; users: number; stepMs: number; slightlyLate: number; veryLate: number },
): PageView[] {
  const rand = seeded(options.seed);
  const out: PageView[] = [];
  let now = 1_700_000_000_000 - (1_700_000_000_000 % MINUTE);
  for (let i = 0; i < n; i++) {
    now += Math.floor(rand() * options.stepMs * 2);
    let ts = now;
    const r = rand();
    if (i >= 200 && r < options.veryLate) ts = now - (2 + Math.floor(rand() * 5)) * MINUTE;
    else if (i >= 200 && r < options.veryLate + options.slightlyLate)
      ts = now - Math.floor(rand() * 8 * SECOND);
    out.push({ id: `v${i}`, user: `user-${Math.floor(rand() * options.users)}`, ts });
  }
  return out;
}

/** The events of each partition, in the order produced (what each task processes). */
export function byPartition<E>(events: readonly E[], key: (e: E) => string, partitions: number) {
  const out: E[][] = Array.from({ length: partitions }, () => []);
  for (const e of events) out[partitionForKey(Buffer.from(key(e)), partitions)]!.push(e);
  return out;
}

export interface TumblingReference {
  /** `user@start-end` → the ids counted in it */
  windows: Map<string, string[]>;
  /** windows closed at the end (end + grace <= the partition's final stream time) */
  closed: Set<string>;
  dropped: number;
  lateButCounted: number;
}

/** Tumbling windows of `size` with `grace`, over each partition's views in order. */
export function tumblingReference(
  partitions: readonly (readonly PageView[])[],
  size: number,
  grace: number,
): TumblingReference {
  const windows = new Map<string, string[]>();
  const closed = new Set<string>();
  let dropped = 0;
  let lateButCounted = 0;
  for (const views of partitions) {
    let streamTime = -1;
    const mine = new Map<string, number>();
    for (const v of views) {
      streamTime = Math.max(streamTime, v.ts);
      const start = Math.floor(v.ts / size) * size;
      if (start + size + grace <= streamTime) {
        dropped++;
        continue;
      }
      if (v.ts < streamTime) lateButCounted++;
      const k = `${v.user}@${start}-${start + size}`;
      windows.set(k, [...(windows.get(k) ?? []), v.id]);
      mine.set(k, start);
    }
    for (const [k, start] of mine) if (start + size + grace <= streamTime) closed.add(k);
  }
  return { windows, closed, dropped, lateButCounted };
}

/**
 * Session windows (inactivity gap, grace) over each partition's views: a user's accepted
 * views closer than the gap form one session. The store keeps sessions ending within
 * retention (gap + grace + 1) of the latest session end it holds, as Kafka's does: older
 * sessions are final and no late view merges with them any more.
 */
export function sessionReference(
  partitions: readonly (readonly Pick<PageView, "user" | "ts">[])[],
  gap: number,
  grace: number,
): { sessions: Map<string, number>; dropped: number } {
  const retention = gap + grace + 1;
  const sessions = new Map<string, number>();
  let dropped = 0;
  const runs = (times: number[]): number[][] => {
    const out: number[][] = [];
    for (const t of times) {
      const last = out[out.length - 1];
      if (last !== undefined && t - last[last.length - 1]! <= gap) last.push(t);
      else out.push([t]);
    }
    return out;
  };
  const finish = (user: string, run: number[]) =>
    sessions.set(`${user}@${run[0]}-${run[run.length - 1]}`, run.length);
  for (const views of partitions) {
    const live = new Map<string, number[]>();
    let streamTime = -1;
    let observedEnd = -1;
    for (const v of views) {
      streamTime = Math.max(streamTime, v.ts);
      const kept: number[] = [];
      for (const run of runs(live.get(v.user) ?? [])) {
        if (run[run.length - 1]! <= observedEnd - retention) finish(v.user, run);
        else kept.push(...run);
      }
      const sorted = [...kept, v.ts].sort((a, b) => a - b);
      const mine = runs(sorted).find((run) => run.includes(v.ts))!;
      const end = mine[mine.length - 1]!;
      live.set(v.user, kept);
      if (end + 1 + grace <= streamTime) {
        dropped++;
        continue;
      }
      observedEnd = Math.max(observedEnd, end);
      live.set(v.user, sorted);
    }
    for (const [user, times] of live) for (const run of runs(times)) finish(user, run);
  }
  return { sessions, dropped };
}

/**
 * Waits until group `groupId` has committed offsets at the log end of every partition of
 * `topics` (internal ones included: their ends move while the app works, so the check is
 * repeated until one pass finds everything caught up).
 */
export async function waitCaughtUp(
  log: LogClient,
  groupId: string,
  topics: readonly string[],
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let behind = "";
  for (;;) {
    behind = "";
    const committed = new Map(
      (await log.admin.fetchCommittedOffsets(groupId, [...topics])).map((c) => [
        `${c.topic}-${c.partition}`,
        c.offset,
      ]),
    );
    for (const t of topics) {
      for (const e of await log.admin.listOffsets(t, "latest")) {
        const at = committed.get(`${t}-${e.partition}`) ?? 0;
        if (at < e.offset) behind += ` ${t}-${e.partition}: ${at}/${e.offset}`;
      }
    }
    if (behind === "") return;
    if (Date.now() > deadline) throw new Error(`group ${groupId} still behind:${behind}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
