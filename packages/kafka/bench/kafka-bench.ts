/**
 * The Kafka backend's produce and consume benchmark (not run by the tests):
 *
 *   TRIBUTARY_KAFKA_BROKERS=127.0.0.1:29200 npm run bench -w @tributary/kafka -- [records=500000]
 *
 * On a running Kafka (scripts/kafka.sh), in one run, the same records (10-byte keys, 90-byte
 * values, 2 partitions, sends of 5,000 as a stream task's commit sends them):
 * - raw produce: @platformatic/kafka's own idempotent producer (acks=all), the baseline;
 * - Tributary produce: a KafkaLog producer (idempotent, acks=all);
 * - small sends: SMALL_RECORDS of the same records in sends of 10 (one send per event, as a
 *   latency-bound application makes them), all made at once and then awaited, by the raw
 *   client (the baseline; not idempotent: its idempotent producer refuses sends made
 *   together, OUT_OF_ORDER_SEQUENCE_NUMBER) and by a KafkaLog producer, which merges the
 *   sends queued while a request is in flight (the JSON line's `smallSend*` fields, with
 *   its Produce request count);
 * - raw consume: @platformatic/kafka's consumer stream from the earliest offset, the baseline;
 * - Tributary consume: a KafkaLog consumer assigned both partitions from offset 0.
 * Each prints records/s, MB/s (key + value bytes) and this process's CPU seconds per
 * million records (user + system; steadier than rates on a shared machine), with its ratio
 * to the same-run baseline. Ends with one JSON line of the figures.
 */
import { Consumer as RawConsumer, Producer as RawProducer } from "@platformatic/kafka";
import type { ProducerRecord } from "@tributary/log";
import { openKafkaLog } from "../src/index.js";

const N = Number(process.argv[2] ?? 500_000);
const BROKERS = process.env.TRIBUTARY_KAFKA_BROKERS ?? "127.0.0.1:29200";
const SEND = 5_000;
const PARTITIONS = 2;
const namespace = `bench${Date.now().toString(36)}`;
const RECORD_BYTES = 100;
const SMALL_SEND = 10;
const SMALL_RECORDS = Math.min(N, 100_000);

interface Row {
  name: string;
  perSec: number;
  mbPerSec: number;
  cpuSecPerMillion: number;
}
const rows: Row[] = [];

async function measure(name: string, run: () => Promise<void>, n = N): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const row = {
    name,
    perSec: Math.round((n / ms) * 1000),
    mbPerSec: Math.round(((n * RECORD_BYTES) / 1e6 / (ms / 1000)) * 10) / 10,
    cpuSecPerMillion: Math.round(((cpu.user + cpu.system) / 1e6 / (n / 1e6)) * 100) / 100,
  };
  rows.push(row);
  console.log(
    `${name.padEnd(20)} ${String(row.perSec).padStart(9)} records/s ${String(row.mbPerSec).padStart(6)} MB/s ${row.cpuSecPerMillion.toFixed(2).padStart(6)} CPU s/M`,
  );
  return row;
}

function records(): ProducerRecord[][] {
  const sends: ProducerRecord[][] = [];
  const value = Buffer.alloc(90, 0x61);
  const now = Date.now();
  for (let i = 0; i < N; i += SEND) {
    const send: ProducerRecord[] = [];
    for (let j = i; j < Math.min(N, i + SEND); j++) {
      send.push({
        key: Buffer.from(`k${String(j % 10_000).padStart(9, "0")}`),
        value,
        timestamp: now + j,
      });
    }
    sends.push(send);
  }
  return sends;
}

async function main(): Promise<void> {
  const log = await openKafkaLog({ brokers: BROKERS, namespace });
  const sends = records();
  await log.admin.createTopic("raw", { partitions: PARTITIONS });
  await log.admin.createTopic("tributary", { partitions: PARTITIONS });
  await log.admin.createTopic("tributary-small", { partitions: PARTITIONS });

  const raw = new RawProducer({
    clientId: "bench-raw",
    bootstrapBrokers: BROKERS.split(","),
    idempotent: true,
    acks: -1,
    autocreateTopics: false,
  });
  // Both producers get their producer id and metadata before the clock starts.
  await raw.send({
    messages: [{ topic: `${namespace}.raw`, key: Buffer.from("warm"), partition: 0 }],
  });
  const producer = log.producer();
  await producer.send("tributary", [{ key: Buffer.from("warm"), value: null, partition: 0 }]);

  const rawProduce = await measure("raw produce", async () => {
    for (const send of sends) {
      await raw.send({
        messages: send.map((r) => ({
          topic: `${namespace}.raw`,
          key: r.key!,
          value: r.value!,
          timestamp: BigInt(r.timestamp!),
        })),
      });
    }
  });
  const produce = await measure("tributary produce", async () => {
    for (const send of sends) await producer.send("tributary", send);
  });
  const small = sends.flat().slice(0, SMALL_RECORDS);
  const smallSends = Array.from({ length: Math.ceil(small.length / SMALL_SEND) }, (_, i) =>
    small.slice(i * SMALL_SEND, (i + 1) * SMALL_SEND),
  );
  const rawPlain = new RawProducer({
    clientId: "bench-raw-plain",
    bootstrapBrokers: BROKERS.split(","),
    acks: -1,
    autocreateTopics: false,
  });
  await rawPlain.send({
    messages: [{ topic: `${namespace}.raw`, key: Buffer.from("warm"), partition: 0 }],
  });
  const rawSmall = await measure(
    `raw sends of ${SMALL_SEND}`,
    async () => {
      await Promise.all(
        smallSends.map((send) =>
          rawPlain.send({
            messages: send.map((r) => ({
              topic: `${namespace}.raw`,
              key: r.key!,
              value: r.value!,
              timestamp: BigInt(r.timestamp!),
            })),
          }),
        ),
      );
    },
    small.length,
  );
  const requestsBefore = requestsOf(producer);
  const smallSend = await measure(
    `tributary sends of ${SMALL_SEND}`,
    async () => {
      await Promise.all(smallSends.map((send) => producer.send("tributary-small", send)));
    },
    small.length,
  );
  const smallSendRequests = requestsOf(producer) - requestsBefore;
  console.log(
    `  ${smallSends.length} sends of ${SMALL_SEND} went in ${smallSendRequests} Produce requests`,
  );
  await raw.close();
  await rawPlain.close();
  await producer.close();

  const rawConsumer = new RawConsumer({
    clientId: "bench-raw",
    groupId: `${namespace}.raw-group`,
    bootstrapBrokers: BROKERS.split(","),
  });
  const rawConsume = await measure("raw consume", async () => {
    const stream = await rawConsumer.consume({
      topics: [`${namespace}.tributary`],
      mode: "earliest",
      autocommit: false,
    });
    let n = -1; // the warm-up record
    for await (const _ of stream) if (++n >= N) break;
    await stream.close();
  });
  await rawConsumer.close(true);

  const consumer = log.consumer();
  const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({
    topic: "tributary",
    partition,
  }));
  consumer.assign(tps);
  for (const tp of tps) consumer.seek(tp, 0);
  const consume = await measure("tributary consume", async () => {
    let n = -1;
    while (n < N) for (const fp of await consumer.poll({ maxWaitMs: 500 })) n += fp.records.length;
  });
  await consumer.close();
  await log.admin.deleteTopic("raw");
  await log.admin.deleteTopic("tributary");
  await log.admin.deleteTopic("tributary-small");
  await log.close();

  const ratio = (a: Row, b: Row) =>
    Math.round((a.cpuSecPerMillion / b.cpuSecPerMillion) * 100) / 100;
  console.log(
    `CPU per record against the raw client: produce ${ratio(produce, rawProduce)}x, sends of ${SMALL_SEND} ${ratio(smallSend, rawSmall)}x, consume ${ratio(consume, rawConsume)}x`,
  );
  console.log(
    JSON.stringify({
      producePerSec: produce.perSec,
      produceMBps: produce.mbPerSec,
      produceCpuSecPerMillion: produce.cpuSecPerMillion,
      rawProducePerSec: rawProduce.perSec,
      rawProduceCpuSecPerMillion: rawProduce.cpuSecPerMillion,
      consumePerSec: consume.perSec,
      consumeMBps: consume.mbPerSec,
      consumeCpuSecPerMillion: consume.cpuSecPerMillion,
      rawConsumePerSec: rawConsume.perSec,
      rawConsumeCpuSecPerMillion: rawConsume.cpuSecPerMillion,
      smallSendPerSec: smallSend.perSec,
      smallSendCpuSecPerMillion: smallSend.cpuSecPerMillion,
      smallSendRequests,
      rawSmallSendPerSec: rawSmall.perSec,
      rawSmallSendCpuSecPerMillion: rawSmall.cpuSecPerMillion,
    }),
  );
}

/** The producer's Produce request count (KafkaProducer.requests; NaN where it has none). */
function requestsOf(producer: object): number {
  return (producer as { requests?: number }).requests ?? Number.NaN;
}

await main();
