import { mapEntry } from "./map-entry.js";
import type { LogClient, Producer, ProducerRecord } from "@tributary/log";
import type { ConnectorPlan, TaskPlan } from "./connect-file.js";
import type { SourceBatch, SourceRecord, SourceTask, TaskContext } from "./connector.js";
import { type KeyedTopic, offsetKey } from "./keyed-topic.js";

/**
 * Runs one source task until `stopped()` says so: poll → send to the log → (once every
 * partition acknowledged) store the offsets the batch carries in the offsets topic →
 * `task.commit(offsets)`, with the next poll running meanwhile. So an offset is stored,
 * and the source told, only for records the log holds: a crash anywhere repeats at most
 * the records after the stored offset.
 * Records of one topic are sent in poll order in one call, which keeps per-key order.
 */
export async function runSourceTask(options: {
  plan: ConnectorPlan;
  taskPlan: TaskPlan;
  task: SourceTask;
  log: LogClient;
  offsets: KeyedTopic;
  context: TaskContext;
  stopped: () => boolean;
}): Promise<void> {
  const { plan, taskPlan, task, log, offsets, context, stopped } = options;
  const stored = await offsets.readAll();
  const producer: Producer = log.producer({ clientId: taskPlan.id });
  await task.start(taskPlan.config, {
    ...context,
    storedOffset: (partition) => stored.get(offsetKey(plan.name, partition)),
    encodesBatches: producer.sendEncoded !== undefined,
  });
  // Batch n + 1 is polled while batch n is sent and its offsets stored: the source's
  // reading and decoding overlap the log's append and acknowledgement. Sends stay one at
  // a time and in poll order, so per-key order and the order of offsets are kept.
  let inFlight: Promise<void> = Promise.resolve();
  const deliver = async (polled: (SourceRecord | SourceBatch)[]) => {
    const records: SourceRecord[] = [];
    const batches: SourceBatch[] = [];
    for (const r of polled) {
      if ("batch" in r) batches.push(r);
      else records.push(r);
    }
    // Batches first, acknowledged before the records: a record of the same partition
    // (none from the Postgres source) stays behind them, and offsets are stored after both.
    if (batches.length > 0) await sendBatches(producer, batches);
    if (records.length > 0) await sendInOrder(producer, records);
    let sent = records.length;
    for (const b of batches) sent += b.records;
    context.count("records_sent", sent);
    const latest = new Map<string, unknown>();
    for (const r of records) {
      if (r.sourceOffset !== undefined) latest.set(r.sourceOffset.partition, r.sourceOffset.offset);
    }
    if (latest.size === 0) return;
    await offsets.put([...latest].map(([p, o]) => [offsetKey(plan.name, p), o]));
    context.count("offset_commits");
    await task.commit?.(latest);
  };
  try {
    while (!stopped()) {
      const records = await task.poll();
      context.serving(true);
      await inFlight;
      if (records.length === 0) continue;
      inFlight = deliver(records);
      // Its failure is thrown by the await above (or below), not as an unhandled rejection.
      inFlight.catch(() => {});
    }
    await inFlight;
  } finally {
    await inFlight.catch(() => {});
    await task.stop().catch(() => {});
    await producer.close().catch(() => {});
  }
}

/** One sendEncoded per topic, all at once; each keeps its batches' order per partition. */
async function sendBatches(producer: Producer, batches: SourceBatch[]): Promise<void> {
  const byTopic = new Map<string, { partition: number; batch: Buffer }[]>();
  for (const b of batches) mapEntry(byTopic, b.topic, () => []).push(b);
  await Promise.all([...byTopic].map(([t, l]) => producer.sendEncoded!(t, l)));
}

/**
 * One send per topic, all at once: each keeps its records' order, per partition. A source
 * record is a producer record (key, value, timestamp, headers), so it is sent as it is.
 */
async function sendInOrder(producer: Producer, records: SourceRecord[]): Promise<void> {
  const first = records[0]!.topic;
  let one = true;
  for (let i = 1; i < records.length && one; i++) one = records[i]!.topic === first;
  // A snapshot batch is all one table's: sent as it is, not copied into a list per topic.
  if (one) {
    await producer.send(first, records);
    return;
  }
  const byTopic = new Map<string, ProducerRecord[]>();
  // Records come in runs of one topic (a transaction's changes, then its END event).
  let topic = "";
  let list: ProducerRecord[] = [];
  for (const r of records) {
    if (r.topic !== topic) {
      topic = r.topic;
      list = mapEntry(byTopic, topic, () => []);
    }
    list.push(r);
  }
  await Promise.all([...byTopic].map(([t, l]) => producer.send(t, l)));
}
