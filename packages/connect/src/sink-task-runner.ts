import {
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
 * from the earliest record when it has no offsets) → `put` → commit the group offsets.
 * Offsets are committed only after `put` resolved, so a crash redelivers at most the
 * uncommitted batch, which the sink's idempotent writes absorb.
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
  const consumer: Consumer = log.consumer({
    groupId: `connect-${plan.name}`,
    clientId: taskPlan.id,
    autoOffsetReset: "earliest",
    onPositionReset: (reset) => {
      const { skipped, message } = describePositionReset(reset);
      if (skipped > 0) context.count("records_lost_to_retention", skipped);
      context.warn(message);
    },
  });
  let dlq: Producer | undefined;
  await task.start(taskPlan.config, context);
  try {
    await consumer.subscribe(plan.topics);
    const lag = new Map<string, number>();
    while (!stopped()) {
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
      if (records.length === 0) continue;
      context.count("records_received", records.length);
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
      await consumer.commit();
    }
  } finally {
    await task.stop().catch(() => {});
    await consumer.close().catch(() => {});
    await dlq?.close().catch(() => {});
  }
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
