import { partitionForKey } from "@tributary/log";
import { expect } from "vitest";
import { queryClient, readQueryEndpoints } from "../src/index.js";
import { routedStore } from "../src/query/store-routing.js";
import app from "./fixtures/query-app.js";
import {
  allCommitted,
  generatePlays,
  PLAYS_TOPIC,
  producePlays,
  queryReference,
} from "./query-helpers.js";
import {
  type Backend,
  eventually,
  startWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";

// The standby failover scenario, on any backend (the embedded broker here, Apache Kafka in
// packages/kafka/test) and under either guarantee: three workers with one standby per
// stateful task, long changelogs, the active worker of a watched word SIGKILLed; stale
// reads answer from the standby during the outage and the task moves to the worker that
// held its copy, which restores only the tail. Under exactly-once the changelogs carry
// transaction markers and the standby reads them read_committed; the counts must still be
// exact after the move.

/** The last `{"event": kind, "tasks": […]}` line a worker printed. */
function lastTasks(w: WorkerProc, kind: "tasks" | "standbys"): string[] | undefined {
  for (let i = w.proc.lines.length - 1; i >= 0; i--) {
    const l = w.proc.lines[i]!;
    if (!l.includes(`"event":"${kind}"`)) continue;
    return (JSON.parse(l) as { tasks: string[] }).tasks;
  }
  return undefined;
}

function restoreEvents(w: WorkerProc, taskId: string): { done: number; total: number }[] {
  return w.proc.lines
    .filter((l) => l.includes('"event":"restore"'))
    .map((l) => JSON.parse(l) as { taskId: string; store: string; done: number; total: number })
    .filter((e) => e.taskId === taskId && e.store === "counts");
}

/** Runs the scenario; `workers` is the caller's list, killed by its afterEach. */
export async function standbyFailoverScenario(
  backend: Backend,
  workers: WorkerProc[],
  extraArgs: string[] = [],
): Promise<void> {
  const { log } = backend;
  const partitions = 6;
  await log.admin.createTopic("q-plays", { partitions, config: PLAYS_TOPIC });
  const args = ["--commit-ms", "200", "--session-ms", "10000", "--standbys", "1", ...extraArgs];
  for (let i = 0; i < 3; i++)
    workers.push(await startWorker(backend, "query-app.ts", tempDir("sb-state"), args));
  const q = queryClient(app, { log, timeoutMs: 90_000 });
  // in rounds, each one processed and committed before the next: every round appends
  // each word's count to the changelogs again, so they grow long
  const first = generatePlays(20_000, 300, 11);
  const rounds = 8;
  for (let r = 1; r <= rounds; r++) {
    const upTo = first.slice(0, (first.length * r) / rounds);
    await producePlays(log, first.slice((first.length * (r - 1)) / rounds, upTo.length));
    const ref = queryReference(upTo);
    await eventually(async () => {
      const all = await q.store("counts").all();
      return all.length === ref.words.length && all.every((e) => e.value === ref.counts.get(e.key))
        ? true
        : undefined;
    }, `the counts of every word after round ${r}`);
  }
  const ref1 = queryReference(first);

  // every stateful task has one standby, on a worker that does not run it
  const topology = app.build();
  const stateful = topology.subtopologies.filter((s) => s.stores.length > 0);
  const statefulTasks = stateful.flatMap((s) =>
    Array.from({ length: partitions }, (_, p) => s.taskId(p)),
  );
  await eventually(() => {
    const standbys = workers.map((w) => lastTasks(w, "standbys") ?? []);
    const actives = workers.map((w) => lastTasks(w, "tasks") ?? []);
    const all = standbys.flat();
    const overlap = standbys.some((s, i) => s.some((t) => actives[i]!.includes(t)));
    return !overlap && all.length === statefulTasks.length && new Set(all).size === all.length
      ? true
      : undefined;
  }, "one standby per stateful task, none beside its active task");

  // the victim: a worker running a `counts` task; the word to watch lives in that task
  const counts = routedStore(topology, "counts");
  const taskOf = (w: string) =>
    counts.sub.taskId(partitionForKey(counts.spec.keySerde.serialize(w)!, partitions));
  const victim = workers.find((w) => lastTasks(w, "tasks")!.includes(taskOf(ref1.words[0]!)))!;
  expect(victim, "the worker running the first word's counts task").toBeDefined();
  const word = ref1.words[0]!;
  const partition = partitionForKey(counts.spec.keySerde.serialize(word)!, partitions);
  const taskId = counts.sub.taskId(partition);
  const holder = workers.find((w) => w !== victim && lastTasks(w, "standbys")!.includes(taskId))!;
  expect(holder, `the worker with the standby of ${taskId}`).toBeDefined();
  const changelog = counts.spec.changelogTopic!;
  const changelogLength = (await log.admin.listOffsets(changelog, "latest")).find(
    (o) => o.partition === partition,
  )!.offset;
  expect(changelogLength).toBeGreaterThan(200);

  // the standby is caught up: asked directly with allowStale, it answers the reference
  const holderUrl = JSON.parse(holder.proc.lines.find((l) => l.includes('"running"'))!)
    .queryUrl as string;
  await eventually(async () => {
    const res = await fetch(`${holderUrl}/v1/stores/counts/get`, {
      method: "POST",
      body: JSON.stringify({ key: { json: word }, allowStale: true }),
    });
    const body = (await res.json()) as {
      stale?: boolean;
      entries: { value: unknown }[];
    };
    return body.stale === true && body.entries[0]?.value === ref1.counts.get(word)
      ? true
      : undefined;
  }, "the standby's copy caught up");

  // a scan allowing stale results: the holder adds a part read from its copy, and the
  // client prefers the active task's part, so nothing is doubled
  const scan = await fetch(`${holderUrl}/v1/stores/counts/all`, {
    method: "POST",
    body: JSON.stringify({ allowStale: true }),
  });
  const parts = ((await scan.json()) as { parts: { partition: number; stale?: boolean }[] }).parts;
  expect(parts.find((p) => p.partition === partition)?.stale).toBe(true);
  const staleAll = queryClient(app, { log, allowStale: true, timeoutMs: 60_000 });
  const before = await staleAll.store("counts").all();
  expect(new Map(before.map((e) => [e.key, e.value]))).toEqual(ref1.counts);

  // everything processed is committed, so the kill repeats nothing (at-least-once would
  // otherwise count an uncommitted tail twice, and the counts below are exact)
  await eventually(() => allCommitted(log, "query-app"), "every record read committed");
  const restoresBefore = restoreEvents(holder, taskId).length;
  victim.proc.kill("SIGKILL");
  await victim.proc.exited;
  workers.splice(workers.indexOf(victim), 1);
  const killedAt = Date.now();

  // during the outage (its session lasts 10 s): stale reads come from the standby
  const stale = queryClient(app, { log, allowStale: true, timeoutMs: 60_000 });
  const read = await stale.store("counts").getWithMetadata(word);
  const outage = Date.now() - killedAt;
  expect(read.value).toBe(ref1.counts.get(word));
  if (!lastTasks(holder, "tasks")!.includes(taskId)) {
    // the task has not moved yet: only a standby could have answered
    expect(read.stale, `answered ${outage} ms after the kill`).toBe(true);
    expect(read.lag).toBeGreaterThanOrEqual(0);
  }
  // a whole scan answers during the outage too, the dead worker's partitions from copies
  // (each copy caught up with the committed changelog once it has read its tail)
  await eventually(async () => {
    const during = await staleAll.store("counts").all();
    return during.length === ref1.counts.size &&
      during.every((e) => e.value === ref1.counts.get(e.key))
      ? true
      : undefined;
  }, "a scan allowing stale results during the outage");
  // without allowStale a point read waits for the active task
  if (Date.now() - killedAt < 5000) {
    const strict = queryClient(app, { log, timeoutMs: 1500 });
    await expect(strict.store("counts").get(word)).rejects.toMatchObject({
      code: "STORE_NOT_READY",
    });
  }

  // the task moves to the worker holding its standby, which restores only the tail
  await eventually(
    () => (lastTasks(holder, "tasks")?.includes(taskId) ? true : undefined),
    `${taskId} active on the worker that held its standby`,
  );
  const restored = await eventually(
    () => restoreEvents(holder, taskId)[restoresBefore]?.done,
    `the restore of ${taskId} on its new worker`,
  );
  expect(restored).toBeLessThan(changelogLength / 10);

  // more input after the failover: the final counts equal an offline count of all of it
  const second = generatePlays(5_000, 300, 12);
  await producePlays(log, second);
  const ref = queryReference([...first, ...second]);
  await eventually(async () => {
    const all = await q.store("counts").all();
    return all.length === ref.words.length && all.every((e) => e.value === ref.counts.get(e.key))
      ? true
      : undefined;
  }, "the counts of both batches after the failover");
  expect(await q.store("counts").get(word)).toBe(ref.counts.get(word));
  if (extraArgs.includes("exactly_once")) {
    // exactly-once only: the new active worker is SIGKILLed while it counts a third batch,
    // its open transaction's changelog records are aborted, and the last worker takes the
    // task over from its standby copy; had the copy read those records, words would count
    // twice
    const third = generatePlays(20_000, 300, 13);
    const refAll = queryReference([...first, ...second, ...third]);
    const base = ref.counts.get(word)!;
    await producePlays(log, third);
    await eventually(async () => {
      const n = (await q.store("counts").get(word)) as number | undefined;
      return n !== undefined && n > base ? true : undefined;
    }, "the third batch being counted");
    holder.proc.kill("SIGKILL");
    await holder.proc.exited;
    workers.splice(workers.indexOf(holder), 1);
    await eventually(async () => {
      const all = await q.store("counts").all();
      return all.length === refAll.words.length &&
        all.every((e) => e.value === refAll.counts.get(e.key))
        ? true
        : undefined;
    }, "exact counts of all three batches after the second kill");
    return;
  }
  const endpoints = await readQueryEndpoints(log, "query-app", "test");
  expect(endpoints.some((e) => (e.standbys ?? []).length > 0)).toBe(true);
  for (const w of workers)
    expect(w.proc.lines.some((l) => l.includes('"event":"error"'))).toBe(false);
}
