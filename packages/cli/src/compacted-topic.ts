import type { LogClient } from "@tributary/log";
import { CliError } from "./errors.js";

const READ_TIMEOUT_MS = 60_000;

/** The latest record of each key of a compacted topic, with where it stands. */
export type LatestByKey = Map<string, { offset: number; value: Buffer | null }>;

/**
 * Reads a topic from its start to the end it has now and keeps the latest record of each
 * key (as text in `keyEncoding`, UTF-8 by default; base64 keeps binary keys apart): what the CLI's own compacted topics (`_tributary_topologies`,
 * `_tributary_shadows`) and an app's table-like outputs are read as. A tombstone stays
 * in the map with a null value. An absent topic reads as empty.
 */
export async function readLatestByKey(
  log: LogClient,
  topic: string,
  clientId: string,
  keep: (key: string) => boolean = () => true,
  keyEncoding: BufferEncoding = "utf8",
): Promise<LatestByKey> {
  const latest: LatestByKey = new Map();
  const topics = await log.admin.listTopics({ includeInternal: true });
  if (!topics.includes(topic)) return latest;
  const starts = await log.admin.listOffsets(topic, "earliest");
  const ends = await log.admin.listOffsets(topic, "latest");
  const remaining = new Map(
    ends
      .filter((e) => e.offset > (starts.find((s) => s.partition === e.partition)?.offset ?? 0))
      .map((e) => [e.partition, e.offset]),
  );
  if (remaining.size === 0) return latest;
  const consumer = log.consumer({ clientId, autoOffsetReset: "earliest" });
  try {
    consumer.assign(starts.map((s) => ({ topic: s.topic, partition: s.partition })));
    for (const s of starts) consumer.seek(s, s.offset);
    const deadline = Date.now() + READ_TIMEOUT_MS;
    while (remaining.size > 0) {
      if (Date.now() > deadline) {
        throw new CliError(
          "LOG_READ",
          `reading ${topic} did not reach its end within ${READ_TIMEOUT_MS / 1000} s: check that the log is reachable (tributary topics describe ${topic})`,
        );
      }
      for (const fetched of await consumer.poll({ maxWaitMs: 1000 })) {
        const end = remaining.get(fetched.partition) ?? 0;
        for (const r of fetched.records) {
          if (r.offset >= end) break;
          const key = r.key?.toString(keyEncoding);
          if (key !== undefined && keep(key)) latest.set(key, { offset: r.offset, value: r.value });
        }
        const last = fetched.records.at(-1);
        if (last !== undefined && last.offset + 1 >= end) remaining.delete(fetched.partition);
      }
    }
  } finally {
    await consumer.close().catch(() => {});
  }
  return latest;
}

/** Writes one keyed record (null: a tombstone), creating the compacted topic if needed. */
export async function writeKeyed(
  log: LogClient,
  topic: string,
  key: string,
  value: string | null,
): Promise<void> {
  await log.admin.createTopic(topic, {
    partitions: 1,
    config: { cleanupPolicy: "compact" },
    ifNotExists: true,
  });
  const producer = log.producer();
  try {
    await producer.send(topic, [
      { key: Buffer.from(key, "utf8"), value: value === null ? null : Buffer.from(value, "utf8") },
    ]);
  } finally {
    await producer.close();
  }
}
