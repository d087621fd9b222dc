import { randomBytes } from "node:crypto";
import type { Consumer, ConsumerOptions, SaslMechanism } from "@tributary/log";
import { afterAll, beforeAll } from "vitest";
import { KafkaLog } from "../src/kafka-log.js";
import { kafkaSasl, securedKafka } from "./secured-kafka.js";

/**
 * The broker the Kafka suite runs against, from TRIBUTARY_KAFKA_BROKERS (scripts/kafka.sh
 * start prints it). Throws when unset: a Kafka test must fail, not pass, without Kafka.
 */
export function kafkaBrokers(): string {
  const brokers = process.env.TRIBUTARY_KAFKA_BROKERS;
  if (brokers === undefined || brokers === "") {
    throw new Error(
      "TRIBUTARY_KAFKA_BROKERS is not set: start a broker with scripts/kafka.sh start and run TRIBUTARY_KAFKA_BROKERS=127.0.0.1:19092 npx vitest run --project kafka",
    );
  }
  return brokers;
}

/**
 * A namespace no other test uses. Kafka deletes topics asynchronously and keeps groups'
 * offsets, so each test works in names of its own on the one shared broker.
 */
export function uniqueNamespace(prefix = "t"): string {
  return `${prefix}${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
}

/**
 * Opens a KafkaLog on the test broker in `namespace`: on its plaintext listener, or with a
 * SASL mechanism on its SASL listener as its user.
 */
export function openTestLog(namespace: string, mechanism?: SaslMechanism): Promise<KafkaLog> {
  return KafkaLog.open({
    brokers: mechanism === undefined ? kafkaBrokers() : securedKafka().sasl,
    namespace,
    clientId: "tributary-test",
    ...(mechanism === undefined ? {} : { sasl: kafkaSasl(mechanism) }),
  });
}

/** Deletes every topic of the namespace (best effort: the broker drops them in the background). */
export async function dropNamespace(namespace: string): Promise<void> {
  const log = await openTestLog(namespace);
  try {
    for (const t of await log.admin.listTopics())
      await log.admin.deleteTopic(t).catch(() => undefined);
  } finally {
    await log.close();
  }
}

/**
 * A KafkaLog in a namespace of its own for the tests of one describe block: opened before
 * them; consumers made with `consumer()` are closed, the log too, and the namespace
 * dropped after them.
 */
export function suiteLog(prefix: string): {
  readonly log: KafkaLog;
  /** The namespace's prefix of the log's names on the cluster (`<namespace>.<topic>`). */
  readonly namespace: string;
  consumer(options: ConsumerOptions): Consumer;
} {
  const namespace = uniqueNamespace(prefix);
  let log: KafkaLog | undefined;
  const consumers: Consumer[] = [];
  beforeAll(async () => {
    log = await openTestLog(namespace);
  });
  afterAll(async () => {
    await Promise.all(consumers.map((c) => c.close().catch(() => {})));
    await log?.close();
    await dropNamespace(namespace);
  });
  return {
    get log() {
      if (log === undefined) throw new Error("suiteLog: the log opens in beforeAll");
      return log;
    },
    namespace,
    consumer(options) {
      const c = this.log.consumer(options);
      consumers.push(c);
      return c;
    },
  };
}

/** Polls `consumer` until `done()` holds (bounded: throws naming `what`). */
export async function pollUntil(
  consumer: Consumer,
  done: () => boolean,
  what: string,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    await consumer.poll({ maxWaitMs: 50 });
    if (done()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${ms} ms`);
  }
}

/** Writes `count` values to `topic` and reads them back with a group consumer. */
export async function roundTrip(log: KafkaLog, topic: string, count: number): Promise<string[]> {
  await log.admin.createTopic(topic, { partitions: 2 });
  const values = Array.from({ length: count }, (_, i) => `v${i}`);
  await log.producer().send(
    topic,
    values.map((v) => ({ key: Buffer.from(v), value: Buffer.from(v) })),
  );
  const consumer = log.consumer({ groupId: `${topic}-g`, autoOffsetReset: "earliest" });
  try {
    await consumer.subscribe([topic]);
    const seen: string[] = [];
    for (const deadline = Date.now() + 60_000; seen.length < count; ) {
      for (const p of await consumer.poll({ maxWaitMs: 200 }))
        for (const r of p.records) seen.push(r.value!.toString());
      if (Date.now() > deadline) throw new Error(`read ${seen.length} of ${count} from ${topic}`);
    }
    await consumer.commit();
    return seen.sort();
  } finally {
    await consumer.close();
  }
}

/**
 * After the file's tests, deletes every topic whose name contains `suffix`: for CLI tests,
 * whose topics are outside any namespace (the CLI has no namespace flag).
 */
export function dropTopicsAfterAll(suffix: string): void {
  afterAll(async () => {
    const log = await KafkaLog.open({ brokers: kafkaBrokers() });
    try {
      for (const t of await log.admin.listTopics())
        if (t.includes(suffix)) await log.admin.deleteTopic(t).catch(() => undefined);
    } finally {
      await log.close();
    }
  });
}
