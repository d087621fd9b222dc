/**
 * The log, end to end, on the embedded default (./.tributary): create a topic with three
 * partitions, produce a few thousand keyed order events, then read them back through a
 * consumer group, commit, and show what the group holds. Run it twice: the second run's
 * group picks up only the new records, from the offsets the first run committed.
 */
import { openLog, Serdes } from "@tributary/log";

const TOPIC = "demo-orders";
const GROUP = "demo-billing";
const COUNT = 5_000;
const dataDir = process.env.TRIBUTARY_DATA ?? ".tributary";

interface Order {
  id: number;
  customer: string;
  amount: number;
}

// A broker serving the directory is used if one runs; else the log opens in-process.
const log = await openLog({ dataDir });
try {
  await log.admin.createTopic(TOPIC, { partitions: 3, ifNotExists: true });
  const serde = Serdes.msgpack<Order>();
  const start = (await log.admin.listOffsets(TOPIC, "latest")).reduce((n, p) => n + p.offset, 0);

  const producer = log.producer();
  const t0 = performance.now();
  for (let i = 0; i < COUNT; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(i + 500, COUNT); j++) {
      const order = { id: start + j, customer: `customer-${j % 40}`, amount: (j * 7919) % 1000 };
      batch.push({ key: Buffer.from(order.customer), value: serde.serialize(order) });
    }
    await producer.send(TOPIC, batch);
  }
  const produceMs = performance.now() - t0;
  console.log(
    `produced ${COUNT} orders to '${TOPIC}' (3 partitions) in ${produceMs.toFixed(0)} ms`,
  );

  const consumer = log.consumer({ groupId: GROUP, autoOffsetReset: "earliest" });
  await consumer.subscribe([TOPIC]);
  const perPartition = [0, 0, 0];
  const perCustomer = new Map<string, number>();
  let consumed = 0;
  let idle = 0;
  while (idle < 3) {
    const polled = await consumer.poll({ maxWaitMs: 200 });
    if (polled.length === 0) idle++;
    for (const fetched of polled) {
      idle = 0;
      for (const record of fetched.records) {
        const order = serde.deserialize(record.value);
        perPartition[fetched.partition]! += 1;
        perCustomer.set(order.customer, (perCustomer.get(order.customer) ?? 0) + order.amount);
        consumed++;
      }
    }
    await consumer.commit();
  }
  console.log(
    `group '${GROUP}' consumed ${consumed} orders: ${perPartition.map((n, p) => `partition ${p}: ${n}`).join(", ")}`,
  );
  const top = [...perCustomer.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(`top customers by amount: ${top.map(([c, a]) => `${c}=${a}`).join(", ")}`);
  await consumer.close();

  const group = await log.admin.describeGroup(GROUP);
  console.log(`committed offsets (next record to read) and lag:`);
  for (const o of group.offsets) {
    console.log(
      `  ${o.topic}-${o.partition}: offset ${o.offset}, log end ${o.logEndOffset}, lag ${o.lag}`,
    );
  }
  console.log(`data kept in ${dataDir}/ — run again to see the group resume where it left off`);
} finally {
  await log.close();
}
