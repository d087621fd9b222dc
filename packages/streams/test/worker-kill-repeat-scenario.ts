import fs from "node:fs";
import { type LogClient, Serdes } from "@tributary/log";
import { expect } from "vitest";
import { randomLine, seeded } from "./helpers.js";
import {
  type Backend,
  eventually,
  readTopic,
  startWorker,
  stopWorker,
  tempDir,
  type WorkerProc,
} from "./runtime-helpers.js";

const str = Serdes.string();
const json = Serdes.json<number | null>();
const PARTITIONS = 3;
const APP = "wc-app";
const INPUT = "lines";
const REPARTITION = `${APP}-words-repartition`;
/** randomLine's longest line, in words. */
const MAX_WORDS_PER_LINE = 11;

export interface KillRepeatOptions {
  kills: number;
  /** Session timeout of the workers: a killed one holds its partitions this long. */
  sessionMs: number;
  /** Lines produced before the first worker starts: the history a stale position repeats. */
  historyLines: number;
}

function wordsOf(line: string): string[] {
  return line
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "");
}

/**
 * At-least-once after SIGKILLs bounds its repeats to the uncommitted tail (issue 10 item
 * 12: a word count on Kafka once ended 2.67x too high after one kill). Two word-count
 * workers (lines → words, repartitioned by word → counts in RocksDB) share a state
 * directory, as `tributary run` does, while lines keep arriving; one of them is killed
 * with SIGKILL after two commits, again and again, and restarted.
 *
 * Right after each kill, before anyone else can take the dead worker's partitions (its
 * session has not expired), the group's committed offsets are final for what it did: what
 * it may have counted without committing lies between them and the log ends, in the input
 * (each line's words, known exactly: lines go to partitions in a known order) and in the
 * repartition topic (one record per word). Every word counted twice comes from there, so
 * the final counts must be at least the reference, with a total excess no larger than
 * the sum of those tails, plus what workers the group dropped (a session that expired
 * while a loaded worker could not heartbeat) say they will process again. A position
 * that resumes before the committed offset (a stale position, an offset going backward,
 * a partition read from earliest) repeats history outside all of that and breaks the
 * bound: ignoring the committed offset of one input partition on restart counted 84,534
 * words twice against a bound of 28,207.
 */
export async function killRepeatScenario(backend: Backend, o: KillRepeatOptions): Promise<void> {
  const { log } = backend;
  await log.admin.createTopic(INPUT, { partitions: PARTITIONS });
  await log.admin.createTopic("word-counts", { partitions: PARTITIONS });
  const rand = seeded(1207);
  const expected = new Map<string, number>();
  // words of the line at each offset of each input partition, in production order
  const wordsAt: number[][] = Array.from({ length: PARTITIONS }, () => []);
  const producer = log.producer();
  let next = 0;
  const produce = async (n: number) => {
    const records = Array.from({ length: n }, () => {
      const line = randomLine(rand);
      const words = wordsOf(line);
      for (const w of words) expected.set(w, (expected.get(w) ?? 0) + 1);
      const partition = next++ % PARTITIONS;
      wordsAt[partition]!.push(words.length);
      return { value: Buffer.from(line), partition };
    });
    // one send at a time: each partition's offsets follow the order of wordsAt
    for (let i = 0; i < records.length; i += 1000) {
      await producer.send(INPUT, records.slice(i, i + 1000));
    }
  };

  const state = tempDir("kill-repeat-state");
  const flags = ["--session-ms", String(o.sessionMs), "--commit-ms", "150"];
  const start = async () => {
    const w = await startWorker(backend, "word-count-app.ts", state, flags);
    started.push(w);
    return w;
  };
  let tails = 0;
  let producing = true;
  let background: Promise<void> = Promise.resolve();
  const workers: WorkerProc[] = [];
  const started: WorkerProc[] = [];
  try {
    await produce(o.historyLines);
    workers.push(await start(), await start());
    // lines keep arriving while workers die: some are processed and not yet committed
    background = (async () => {
      while (producing) {
        await produce(10);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    for (let kill = 0; kill < o.kills; kill++) {
      const i = kill % workers.length;
      const victim = workers[i]!;
      const commits = () => victim.proc.lines.filter((l) => l.includes('"event":"commit"')).length;
      const before = commits();
      await victim.proc.waitForLine(() => commits() >= before + 2, "two commits", 120_000);
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 300)));
      victim.proc.kill("SIGKILL");
      await victim.proc.exited;
      tails += await uncommittedTail(log, wordsAt);
      workers[i] = await start();
    }
    producing = false;
    await background;
    // every partition got the lines in the order sent
    const ends = await log.admin.listOffsets(INPUT, "latest");
    for (const e of ends)
      expect(e.offset, `${INPUT}-${e.partition}`).toBe(wordsAt[e.partition]!.length);
    await eventually(
      async () => ((await uncommittedTail(log, wordsAt)) === 0 ? true : undefined),
      "the group to commit the end of the input and of the repartition topic",
      180_000,
    );
    const counts = (await readTopic(log, "word-counts", str, json)).table;
    let excess = 0;
    for (const [word, n] of expected) {
      const got = counts.get(word) ?? 0;
      // at-least-once: nothing lost
      expect(got, word).toBeGreaterThanOrEqual(n);
      excess += got - n;
    }
    expect([...counts.keys()].filter((w) => !expected.has(w))).toEqual([]);
    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    // a worker the group dropped (its session expired under load) repeats what it
    // processed since its last commit too, and says how much in its warning
    const warnings = started.flatMap((w) => w.proc.stderr.join("").split("\n"));
    const dropped = repeatsReported(warnings);
    const bound = tails + dropped;
    console.log(
      `${backend.name}: ${o.kills} SIGKILLs over ${total} words: ${excess} counted twice; uncommitted tails at the kills held ${tails} words, repeats reported by dropped workers at most ${dropped} (${warnings.filter((l) => l.includes("processed again")).length} drops)`,
    );
    expect(
      excess,
      `excess over ${total} words; tails at the kills ${tails}, reported repeats ${dropped}; worker warnings: ${warnings.filter((l) => l !== "").join(" | ")}`,
    ).toBeLessThanOrEqual(bound);
  } finally {
    producing = false;
    await background.catch(() => {});
    await producer.close();
    for (const w of workers) {
      await stopWorker(w).catch(() => w.proc.kill("SIGKILL"));
    }
    fs.rmSync(state, { recursive: true, force: true });
  }
}

/**
 * Words between the group's committed offsets and the log ends: each input line's words,
 * and each repartition record (one word).
 */
async function uncommittedTail(log: LogClient, wordsAt: number[][]): Promise<number> {
  const committed = await log.admin.fetchCommittedOffsets(APP, [INPUT, REPARTITION]);
  const at = (topic: string, partition: number) =>
    committed.find((c) => c.topic === topic && c.partition === partition)?.offset;
  let words = 0;
  for (const e of await log.admin.listOffsets(INPUT, "latest")) {
    const from = at(INPUT, e.partition) ?? 0;
    const lines = wordsAt[e.partition]!;
    for (let offset = from; offset < e.offset; offset++) words += lines[offset] ?? 0;
  }
  const starts = await log.admin.listOffsets(REPARTITION, "earliest");
  for (const e of await log.admin.listOffsets(REPARTITION, "latest")) {
    const from =
      at(REPARTITION, e.partition) ?? starts.find((s) => s.partition === e.partition)!.offset;
    words += Math.max(0, e.offset - from);
  }
  return words;
}

/**
 * Words a worker's warnings say it will process again: "processed since the last commit,
 * to be processed again (at-least-once): lines: 12, wc-app-words-repartition: 80" — each
 * line at most MAX_WORDS_PER_LINE words, each repartition record one.
 */
function repeatsReported(warnings: readonly string[]): number {
  let words = 0;
  for (const w of warnings) {
    const at = w.indexOf("to be processed again (at-least-once): ");
    if (at < 0) continue;
    for (const part of w.slice(at).split(": ").slice(1).join(": ").split(", ")) {
      const [topic, n] = part.split(": ");
      words += Number(n) * (topic === INPUT ? MAX_WORDS_PER_LINE : 1);
    }
  }
  return words;
}
