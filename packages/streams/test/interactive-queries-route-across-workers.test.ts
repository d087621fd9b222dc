import { describe, expect, it } from "vitest";
import { queryClient, readQueryEndpoints } from "../src/index.js";
import app from "./fixtures/query-app.js";
import {
  generatePlays,
  PLAYS_TOPIC,
  producePlays,
  type QueryReference,
  queryReference,
} from "./query-helpers.js";
import {
  backendPerTest,
  brokerBackend,
  eventually,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";

const run = backendPerTest();
const workers = run.workers;

type Client = ReturnType<typeof queryClient<NonNullable<(typeof app)["queryableStores"]>>>;

/** Asks every store for every word and compares with the reference; returns the number
 * of answers checked. */
async function checkEveryKey(q: Client, ref: QueryReference): Promise<number> {
  let checked = 0;
  for (const word of ref.words) {
    const [count, hourly, sessions] = await Promise.all([
      q.store("counts").get(word),
      q.store("hourly").fetch(word),
      q.store("sessions").fetch(word),
    ]);
    expect(count, `count of '${word}'`).toBe(ref.counts.get(word));
    expect(
      hourly.map((w) => [w.start, w.value]),
      `hourly windows of '${word}'`,
    ).toEqual(ref.hourly.get(word));
    expect(
      sessions.map((s) => [s.start, s.end, s.value]),
      `sessions of '${word}'`,
    ).toEqual(ref.sessions.get(word));
    checked += 3;
  }
  expect(await q.store("counts").get("never-played")).toBeNull();
  return checked;
}

/** The fan-out reads: all and a range, merged from every worker in key-byte order. */
async function checkScans(q: Client, ref: QueryReference): Promise<void> {
  const all = await q.store("counts").all();
  expect(all.map((e) => [e.key, e.value])).toEqual(ref.words.map((w) => [w, ref.counts.get(w)]));
  const from = ref.words[10]!;
  const to = ref.words[60]!;
  const range = await q.store("counts").range(from, to);
  expect(range.map((e) => e.key)).toEqual(ref.words.slice(10, 61));
  const hourly = await q.store("hourly").all();
  expect(hourly.map((w) => [w.key, w.start, w.value])).toEqual(
    ref.words.flatMap((w) => ref.hourly.get(w)!.map(([s, n]) => [w, s, n])),
  );
}

describe("interactive queries across worker processes", () => {
  it("route every key to its worker and match the reference across 3 workers, while one joins, one leaves and one is SIGKILLed", async () => {
    const backend = run.use(await brokerBackend());
    const { log } = backend;
    await log.admin.createTopic("q-plays", { partitions: 6, config: PLAYS_TOPIC });
    const plays = generatePlays(6000, 300, 7);
    const ref = queryReference(plays);
    await producePlays(log, plays);
    const args = ["--commit-ms", "200", "--session-ms", "10000"];
    for (let i = 0; i < 3; i++)
      workers.push(await startWorker(backend, "query-app.ts", tempDir("q-state"), args));
    const q: Client = queryClient(app, { log, timeoutMs: 90_000 });

    // caught up: the merged scan of every worker equals the reference
    await eventually(async () => {
      const all = await q.store("counts").all();
      return all.length === ref.words.length && all.every((e) => e.value === ref.counts.get(e.key))
        ? true
        : undefined;
    }, "the counts of every word on the workers");
    // every task of every sub-topology is advertised by exactly one of the 3 workers
    const taskCount = app.build().subtopologies.length * 6;
    await eventually(async () => {
      const endpoints = await readQueryEndpoints(log, "query-app", "test");
      const tasks = endpoints.flatMap((e) => e.tasks);
      return endpoints.length === 3 &&
        tasks.length === taskCount &&
        new Set(tasks).size === taskCount
        ? true
        : undefined;
    }, "each task advertised by one worker");
    expect(await checkEveryKey(q, ref)).toBe(ref.words.length * 3);
    await checkScans(q, ref);

    // a fourth worker joins: tasks move while every key keeps being asked
    const joining = startWorker(backend, "query-app.ts", tempDir("q-state"), args);
    let rounds = 0;
    let joined: WorkerProc | undefined;
    void joining.then((w) => {
      joined = w;
      workers.push(w);
    });
    while (
      joined === undefined ||
      !joined.proc.lines.some((l) => /"event":"tasks","tasks":\["/.test(l))
    ) {
      await checkEveryKey(q, ref);
      rounds++;
    }
    await checkEveryKey(q, ref);
    await checkScans(q, ref);
    expect(rounds).toBeGreaterThan(0);

    // one leaves cleanly, its tasks move to the others
    const leaving = workers.shift()!;
    const left = stopWorker(leaving);
    await checkEveryKey(q, ref);
    await left;
    await checkEveryKey(q, ref);
    await checkScans(q, ref);

    // one is SIGKILLed: its endpoint goes stale, its tasks move after the session timeout
    // and restore from the changelogs elsewhere; queries wait (retry) and then agree
    const killed = workers.shift()!;
    killed.proc.kill("SIGKILL");
    await killed.proc.exited;
    await checkEveryKey(q, ref);
    await checkScans(q, ref);
    for (const w of workers)
      expect(w.proc.lines.some((l) => l.includes('"event":"error"'))).toBe(false);
  });
});
