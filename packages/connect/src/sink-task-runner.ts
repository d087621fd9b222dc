import type { CommittedOffset, Consumer, LogClient, Producer } from "@tributary/log";
import type { ConnectorPlan, TaskPlan } from "./connect-file.js";
import type { SinkRecord, SinkTask, TaskContext } from "./connector.js";
import { BadRecordError } from "./errors.js";

const PUT_RETRIES = 5;
const PUT_BACKOFF_MS = [200, 500, 1000, 2000, 5000];
/**
 * Bytes per poll: a batch is one transaction in the target, so larger ones spend less on
 * round trips and commits (4 MiB: a few thousand change records).
 */
const SINK_POLL_BYTES = 4 * 1024 * 1024;

/**
 * Runs one sink task until `stopped()`: poll the connector's group (`connect-<name>`,
 * from the earliest record when it has no offsets) → `put` → commit the offsets of the
 * records put. Offsets are committed only after `put` resolved, so a crash redelivers at
 * most the uncommitted batches, which the sink's idempotent writes absorb.
 *
 * While batch n is being put, batch n + 1 is polled and handed to `task.prepare` (its
 * decoding overlaps the target's write of n); it is put only once n is put and its
 * offsets are committed, so batches still reach the target one at a time and in order.
 * A rebalance that takes partitions away (it runs inside that poll) first waits for the
 * batch in flight and commits it: the next owner starts right after it.
 *
 * Errors: a BadRecordError names one record; under `errors.tolerance: "all"` it goes to
 * the dead-letter topic (original key, value and headers, plus `connect.error.*` headers
 * saying why and where from) and the rest of the batch is put again; under "none" the
 * task fails. Other errors retry the whole batch with backoff, then fail the task (the
 * worker restarts it, and the batch is redelivered).
 */
export async function runSinkTask(options: {
  plan: ConnectorPlan;
  taskPlan: TaskPlan;
  task: SinkTask;
  log: LogClient;
  context: TaskContext;
  stopped: () => boolean;
}): Promise<void> {
  const { plan, taskPlan, task, log, context, stopped } = options;
  /** The batch being put and its offsets, committed once the put resolves. */
  let inFlight: InFlightPut | null = null;
  const consumer: Consumer = log.consumer({
    groupId: `connect-${plan.name}`,
    clientId: taskPlan.id,
    autoOffsetReset: "earliest",
    maxPollBytes: SINK_POLL_BYTES,
    listener: {
      onPartitionsRevoked: async () => {
        const put = inFlight;
        if (put === null) return;
        // A failed put is the main loop's to report; its offsets are not committed.
        if (
          await put.done.then(
            () => true,
            () => false,
          )
        )
          await commitOnce(put);
      },
    },
  });
  let dlq: Producer | undefined;
  const commitOnce = async (put: InFlightPut) => {
    if (put.committed) return;
    put.committed = true;
    await consumer.commit(put.offsets);
  };
  const lag = new Map<string, number>();
  const pollBatch = async (): Promise<SinkRecord[]> => {
    const fetched = await consumer.poll({ maxWaitMs: 500 });
    const records: SinkRecord[] = [];
    for (const f of fetched) {
      for (const r of f.records) records.push({ topic: f.topic, partition: f.partition, ...r });
      const pos = consumer.position({ topic: f.topic, partition: f.partition }) ?? 0;
      lag.set(`${f.topic}-${f.partition}`, Math.max(0, f.highWatermark - pos));
    }
    let behind = 0;
    for (const n of lag.values()) behind += n;
    context.gauge("lag", behind);
    context.serving(true);
    if (records.length > 0) context.count("records_received", records.length);
    return records;
  };
  const putBatch = async (records: SinkRecord[]): Promise<void> => {
    let batch = records;
    for (let attempt = 0; ; attempt++) {
      try {
        await task.put(batch);
        break;
      } catch (err) {
        if (err instanceof BadRecordError) {
          if (plan.tolerance === "none" || plan.deadLetterTopic === undefined) throw err;
          const bad = batch.find(
            (r) =>
              r.topic === err.record.topic &&
              r.partition === err.record.partition &&
              r.offset === err.record.offset,
          );
          if (bad === undefined) throw err;
          dlq ??= log.producer({ clientId: `${taskPlan.id}-dlq` });
          await dlq.send(plan.deadLetterTopic, [deadLetter(bad, err)]);
          context.count("records_dead_lettered");
          context.warn(`dead-lettered ${err.message}`);
          batch = batch.filter((r) => r !== bad);
          if (batch.length === 0) break;
          continue;
        }
        if (attempt >= PUT_RETRIES) throw err;
        context.count("put_retries");
        context.warn(`put failed (${(err as Error).message}); retrying`);
        await new Promise((r) => setTimeout(r, PUT_BACKOFF_MS[attempt]));
      }
    }
    context.count("records_put", batch.length);
  };
  await task.start(taskPlan.config, context);
  try {
    await consumer.subscribe(plan.topics);
    let next: SinkRecord[] = [];
    while (!stopped()) {
      const records = next.length > 0 ? next : await pollBatch();
      next = [];
      if (records.length === 0) continue;
      const put = { done: putBatch(records), offsets: nextOffsets(records), committed: false };
      // Its failure is thrown by the await below, not as an unhandled rejection.
      put.done.catch(() => {});
      inFlight = put;
      if (!stopped()) {
        next = await pollBatch();
        task.prepare?.(next);
      }
      await put.done;
      await commitOnce(put);
      inFlight = null;
    }
  } finally {
    await inFlight?.done.catch(() => {});
    await task.stop().catch(() => {});
    await consumer.close().catch(() => {});
    await dlq?.close().catch(() => {});
  }
}

interface InFlightPut {
  done: Promise<void>;
  /** Per partition, the offset after the batch's last record. */
  offsets: CommittedOffset[];
  committed: boolean;
}

/** Per partition of `records`, the offset after its last record (what a commit stores). */
function nextOffsets(records: SinkRecord[]): CommittedOffset[] {
  const next = new Map<string, CommittedOffset>();
  for (const r of records) {
    const key = `${r.topic}\u0000${r.partition}`;
    const o = next.get(key);
    if (o === undefined)
      next.set(key, { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
    else if (r.offset + 1 > o.offset) o.offset = r.offset + 1;
  }
  return [...next.values()];
}

function deadLetter(r: SinkRecord, err: BadRecordError) {
  return {
    key: r.key,
    value: r.value,
    timestamp: r.timestamp,
    headers: {
      ...r.headers,
      "connect.error.message": err.message,
      "connect.error.topic": r.topic,
      "connect.error.partition": String(r.partition),
      "connect.error.offset": String(r.offset),
    },
  };
}
