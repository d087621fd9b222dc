import {
  type CommittedOffset,
  type Consumer,
  describePositionReset,
  type LogClient,
  type Producer,
} from "@tributary/log";
import type { ConnectorPlan, TaskPlan } from "./connect-file.js";
import type { SinkRecord, SinkTask, TaskContext } from "./connector.js";
import { BadRecordError } from "./errors.js";

const PUT_RETRIES = 5;
const PUT_BACKOFF_MS = [200, 500, 1000, 2000, 5000];

/**
 * Runs one sink task until `stopped()`: poll the connector's group (`connect-<name>`,
 * from the earliest record when it has no offsets) → `put` → commit the offsets of the
 * records put. Offsets are committed only after `put` resolved, so a crash redelivers at
 * most the uncommitted batches, which the sink's idempotent writes absorb.
 *
 * While batch n is being put, batch n + 1 is polled and handed to `task.prepare` (its
 * decoding overlaps the target's write of n); it is put once n is put, so batches still
 * reach the target one at a time and in order, and n's offsets are committed while n + 1
 * is put (commits go one at a time, in order).
 * A rebalance that takes partitions away (it runs inside that poll) first waits for the
 * batch in flight and commits it: the next owner starts right after it.
 *
 * Errors: a BadRecordError names one record; under `errors.tolerance: "all"` it goes to
 * the dead-letter topic (original key, value and headers, plus `connect.error.*` headers
 * saying why and where from) and the rest of the batch is put again; under "none" the
 * task fails. Other errors retry the whole batch with backoff, then fail the task (the
 * worker restarts it, and the batch is redelivered). Records retention deleted before the
 * task read them are skipped by the consumer, counted (records_lost_to_retention) and
 * warned about.
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
  /** The batch put last (its put or its commit may still run). */
  let latest: InFlightPut | null = null;
  /** The offset commits, one after the other in batch order. */
  let commits: Promise<void> = Promise.resolve();
  const consumer: Consumer = log.consumer({
    groupId: `connect-${plan.name}`,
    clientId: taskPlan.id,
    autoOffsetReset: "earliest",
    onPositionReset: (reset) => {
      const { skipped, message } = describePositionReset(reset);
      if (skipped > 0) context.count("records_lost_to_retention", skipped);
      context.warn(message);
    },
    listener: {
      onPartitionsRevoked: async () => {
        const put = latest;
        if (put === null) return;
        // A failed put is the main loop's to report; its offsets are not committed.
        const ok = await put.done.then(
          () => true,
          () => false,
        );
        if (ok) await commitAfter(put);
      },
    },
  });
  let dlq: Producer | undefined;
  /** Commits the batch's offsets once it is put and the batches before are committed. */
  const commitAfter = (put: InFlightPut): Promise<void> => {
    if (put.commit === null) {
      put.commit = commits.then(() => put.done).then(() => consumer.commit(put.offsets));
      // A failure is reported by whoever awaits put.commit; the chain goes on.
      commits = put.commit.catch(() => {});
    }
    return put.commit;
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
    let previous: InFlightPut | null = null;
    while (!stopped()) {
      const records = next.length > 0 ? next : await pollBatch();
      next = [];
      if (records.length === 0) continue;
      const put: InFlightPut = {
        done: putBatch(records),
        offsets: nextOffsets(records),
        commit: null,
      };
      // Its failure is thrown by the await below, not as an unhandled rejection.
      put.done.catch(() => {});
      latest = put;
      if (!stopped()) {
        next = await pollBatch();
        task.prepare?.(next);
      }
      await put.done;
      // The batch before's commit (it ran beside this put) must have gone through.
      if (previous !== null) await previous.commit;
      commitAfter(put).catch(() => {});
      previous = put;
    }
    if (previous !== null) await previous.commit;
  } finally {
    await latest?.done.catch(() => {});
    await commits;
    await task.stop().catch(() => {});
    await consumer.close().catch(() => {});
    await dlq?.close().catch(() => {});
  }
}

interface InFlightPut {
  done: Promise<void>;
  /** Per partition, the offset after the batch's last record. */
  offsets: CommittedOffset[];
  /** Its offset commit, once started. */
  commit: Promise<void> | null;
}

/** Per partition of `records`, the offset after its last record (what a commit stores). */
function nextOffsets(records: SinkRecord[]): CommittedOffset[] {
  const next = new Map<string, CommittedOffset>();
  let o: CommittedOffset | undefined;
  for (const r of records) {
    // Records come in runs of one partition: look the partition up once per run.
    if (o === undefined || o.partition !== r.partition || o.topic !== r.topic) {
      const key = `${r.topic}\u0000${r.partition}`;
      o = next.get(key);
      if (o === undefined) {
        o = { topic: r.topic, partition: r.partition, offset: r.offset + 1 };
        next.set(key, o);
      }
    }
    if (r.offset + 1 > o.offset) o.offset = r.offset + 1;
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
