import type { LogClient } from "@tributary/log";
import { queryClient, runWorker } from "../src/index.js";
import { pick, seeded } from "./helpers.js";
import app, { HOUR, SESSION_GAP } from "./fixtures/query-app.js";
import { eventually, produce } from "./runtime-helpers.js";

/** One play of the query tests' input (fixtures/query-app.ts): a user played a word. */
export interface Play {
  user: string;
  word: string;
  ts: number;
}

/** What the query app's stores must hold after `plays`, computed with plain loops. */
export interface QueryReference {
  /** Words in serialized-key (UTF-8 byte) order. */
  words: string[];
  counts: Map<string, number>;
  /** word -> [window start, count] by start */
  hourly: Map<string, [number, number][]>;
  /** word -> [start, end, count] by start */
  sessions: Map<string, [number, number, number][]>;
}

const START = Date.parse("2024-01-01T00:00:00Z");

/** The plays topic's config: plays are stamped in 2024 and time retention (by record time)
 * would delete them before a worker reads them, as soon as a segment rolls. */
export const PLAYS_TOPIC = { retentionMs: -1 } as const;

/** `n` plays of a vocabulary of `vocabulary` words over six hours, deterministic for a
 * seed; some words have non-ASCII letters, so byte order differs from code-unit order. */
export function generatePlays(n: number, vocabulary: number, seed: number): Play[] {
  const rand = seeded(seed);
  const words = Array.from({ length: vocabulary }, (_, i) =>
    i % 17 === 0 ? `wört-${i}` : `w${(i * 7919) % 1000}-${i}`,
  );
  const users = Array.from({ length: 40 }, (_, i) => `user-${i}`);
  return Array.from({ length: n }, () => ({
    user: pick(rand, users),
    word: pick(rand, words),
    ts: START + Math.floor(rand() * 6 * HOUR),
  }));
}

export async function producePlays(log: LogClient, plays: readonly Play[]): Promise<void> {
  await produce(
    log,
    "q-plays",
    plays.map((p) => ({ key: Buffer.from(p.user), value: Buffer.from(p.word), timestamp: p.ts })),
  );
}

export function queryReference(plays: readonly Play[]): QueryReference {
  const counts = new Map<string, number>();
  const times = new Map<string, number[]>();
  for (const p of plays) {
    counts.set(p.word, (counts.get(p.word) ?? 0) + 1);
    const t = times.get(p.word) ?? [];
    t.push(p.ts);
    times.set(p.word, t);
  }
  const hourly = new Map<string, [number, number][]>();
  const sessions = new Map<string, [number, number, number][]>();
  for (const [word, ts] of times) {
    ts.sort((a, b) => a - b);
    const windows = new Map<number, number>();
    for (const t of ts) {
      const start = t - (t % HOUR);
      windows.set(start, (windows.get(start) ?? 0) + 1);
    }
    hourly.set(
      word,
      [...windows].sort((a, b) => a[0] - b[0]),
    );
    const runs: [number, number, number][] = [];
    for (const t of ts) {
      const last = runs[runs.length - 1];
      if (last !== undefined && t - last[1] <= SESSION_GAP) {
        last[1] = t;
        last[2]++;
      } else runs.push([t, t, 1]);
    }
    sessions.set(word, runs);
  }
  const words = [...counts.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return { words, counts, hourly, sessions };
}

/**
 * Resolves once group `groupId` has committed every partition of every topic it reads
 * (input and repartition) up to its end: nothing processed is uncommitted. A worker
 * SIGKILLed after this repeats nothing; before it, at-least-once may count the uncommitted
 * tail twice (outputs go out before the commit), which a test comparing exact counts
 * after a kill must not race with.
 */
export async function allCommitted(log: LogClient, groupId: string): Promise<boolean | undefined> {
  const committed = await log.admin.fetchCommittedOffsets(groupId);
  if (committed.length === 0) return undefined;
  for (const topic of new Set(committed.map((c) => c.topic))) {
    for (const end of await log.admin.listOffsets(topic, "latest")) {
      const c = committed.find((x) => x.topic === topic && x.partition === end.partition);
      if ((c?.offset ?? 0) !== end.offset) return undefined;
    }
  }
  return true;
}

/**
 * The query app over 200 plays (seeded) on one started in-process worker, and a typed
 * client that has already read the first word's count as the reference says. The caller
 * stops the worker.
 */
export async function queryAppOnOneWorker(log: LogClient, stateDir: string, seed: number) {
  await log.admin.createTopic("q-plays", { partitions: 2, config: PLAYS_TOPIC });
  const plays = generatePlays(200, 10, seed);
  await producePlays(log, plays);
  const ref = queryReference(plays);
  const worker = runWorker(app, { log, stateDir, commitIntervalMs: 100 });
  await worker.start();
  const q = queryClient(app, { log, timeoutMs: 30_000 });
  const word = ref.words[0]!;
  await eventually(
    async () => ((await q.store("counts").get(word)) === ref.counts.get(word) ? true : undefined),
    "the count",
  );
  return { worker, q, ref, word };
}
