import type { LogClient } from "@tributary/log";
import { fillTimed } from "../../packages/streams/bench/windows-joins-bench.js";
import { WORKLOAD, type WorkloadName } from "./workloads.js";

/**
 * The peer benchmark's input, written the same way to Kafka and to the embedded log. The
 * record shapes are the streams bench's (packages/streams/bench): 10,000 distinct words or
 * keys, 90-byte values, event times 1 ms apart (its fillTimed, reused as is).
 */

export const PARTITIONS = 4;
/** The records carry 2023 event times: time retention must not delete them mid-run. */
const KEEP = { retentionMs: -1 };

const word = (i: number) => `word-${String(i % 10_000).padStart(5, "0")}`;

async function fill(
  log: LogClient,
  topic: string,
  n: number,
  record: (i: number) => { key: Buffer | null; value: Buffer },
): Promise<void> {
  const producer = log.producer();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < n; i += 10_000) {
    const records = [];
    for (let j = i; j < Math.min(n, i + 10_000); j++) records.push(record(j));
    inFlight.push(producer.send(topic, records));
    if (inFlight.length >= 8) await inFlight.shift();
  }
  await Promise.all(inFlight);
  await producer.close();
}

/** The topic of a workload's input `base` (workloads.ts) in the benchmark run `tag`. */
export function inputTopics(tag: string, w: WorkloadName): string[] {
  return WORKLOAD[w].inputs.map((base) => `peers-${tag}-${base}`);
}

/** Creates and fills the shared input topics of `workloads` with `n` records each. */
export async function fillInputs(
  log: LogClient,
  tag: string,
  workloads: readonly WorkloadName[],
  n: number,
): Promise<void> {
  const value = Buffer.alloc(90, 0x61);
  for (const w of workloads) {
    for (const t of inputTopics(tag, w)) {
      await log.admin.createTopic(t, { partitions: PARTITIONS, config: KEEP });
    }
  }
  const topic = (w: WorkloadName, i = 0) => inputTopics(tag, w)[i]!;
  if (workloads.includes("wordCount")) {
    await fill(log, topic("wordCount"), n, (i) => ({ key: null, value: Buffer.from(word(i)) }));
  }
  if (workloads.includes("stateless")) {
    await fill(log, topic("stateless"), n, (i) => ({ key: Buffer.from(word(i)), value }));
  }
  if (workloads.includes("windowedCount")) await fillTimed(log, topic("windowedCount"), n);
  if (workloads.includes("streamJoin")) {
    await fillTimed(log, topic("streamJoin", 0), n / 2);
    await fillTimed(log, topic("streamJoin", 1), n / 2);
  }
}

/** Deletes the topics of the benchmark run `tag` (a broker that is reused keeps no garbage). */
export async function deleteTopics(log: LogClient, containing: string): Promise<void> {
  for (const t of await log.admin.listTopics({ includeInternal: true })) {
    if (t.includes(containing)) await log.admin.deleteTopic(t);
  }
}

/** An output topic for one run (neither system creates its sinks). */
export async function createOutput(log: LogClient, topic: string): Promise<void> {
  await log.admin.createTopic(topic, { partitions: PARTITIONS, config: KEEP });
}

/**
 * The restore run's topics: an empty 1-partition table topic and its store's changelog,
 * `<applicationId>-kv-changelog` in both systems' naming, holding `keys` distinct keys.
 */
export async function fillRestore(log: LogClient, appId: string, keys: number): Promise<string> {
  const input = `${appId}-in`;
  const changelog = `${appId}-kv-changelog`;
  await log.admin.createTopic(input, { partitions: 1, config: KEEP });
  await log.admin.createTopic(changelog, { partitions: 1, config: { cleanupPolicy: "compact" } });
  const value = Buffer.alloc(90, 0x63);
  await fill(log, changelog, keys, (i) => ({
    key: Buffer.from(`key-${String(i).padStart(7, "0")}`),
    value,
  }));
  return input;
}
