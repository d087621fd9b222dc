import {
  type LogClient,
  type ProducerRecord,
  partitionForKey,
  Serdes,
  type TransactionalProducer,
} from "@tributary/log";
import { expect } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { eventually, produce, readTopic } from "./runtime-helpers.js";

const str = Serdes.string();

const rec = (key: string, value: string | null): ProducerRecord => ({
  key: Buffer.from(key),
  value: value === null ? null : Buffer.from(value),
});

/** A key of `prefix` that lands on `partition` of a 2-partition topic. */
function keyOnPartition(prefix: string, partition: number): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}-${i}`;
    if (partitionForKey(Buffer.from(k), 2) === partition) return k;
  }
}

/** Writes `records` to `products` in one transaction of `transactionalId`, then commits or aborts. */
async function transaction(
  writer: TransactionalProducer,
  records: ProducerRecord[],
  outcome: "commit" | "abort",
): Promise<void> {
  await writer.beginTransaction();
  await writer.send("products", records);
  if (outcome === "commit") await writer.commitTransaction();
  else await writer.abortTransaction();
}

/**
 * Under exactly-once, a global table is read read_committed like every other input: a
 * transaction written to its topic and aborted never reaches a stream-global-table join,
 * neither in what bootstrap reads before the first task runs nor in what arrives while
 * tasks run (read read_uncommitted, the aborted values would join). Runs a worker in this
 * process on `log` (the broker's or Kafka's), its state under `stateDir`.
 */
export async function globalTableReadCommittedScenario(
  log: LogClient,
  stateDir: string,
): Promise<void> {
  await log.admin.createTopic("products", { partitions: 2 });
  await log.admin.createTopic("orders", { partitions: 2 });
  await log.admin.createTopic("enriched", { partitions: 2 });
  const writer = log.transactionalProducer({ transactionalId: "products-writer" });
  await writer.initTransactions();
  // Before the worker starts: committed p1, p2; an aborted write over p1 and a new p3;
  // then a committed p4 after it (so the aborted records are not the topic's tail).
  await transaction(writer, [rec("p1", "one"), rec("p2", "two")], "commit");
  await transaction(writer, [rec("p1", "ABORTED"), rec("p3", "ABORTED")], "abort");
  await transaction(writer, [rec("p4", "four")], "commit");

  const app = defineApp({
    applicationId: "global-eos",
    config: { processingGuarantee: "exactly_once" },
    topology: (b) => {
      const products = b.globalTable<string, string>(
        "products",
        { keySerde: str, valueSerde: str },
        { storeName: "products-global" },
      );
      b.stream<string, string>("orders", { keySerde: str, valueSerde: str })
        .leftJoin(
          products,
          (_id, product) => product,
          (product, name) => `${product}=${name ?? "none"}`,
        )
        .to("enriched", { keySerde: str, valueSerde: str });
    },
  });
  const worker = runWorker(app, {
    log,
    stateDir,
    commitIntervalMs: 100,
  });
  await worker.start();
  try {
    let order = 0;
    const joined = async (products: string[]): Promise<Map<string, string>> => {
      const ids = products.map(() => `o${order++}`);
      await produce(
        log,
        "orders",
        products.map((p, i) => rec(ids[i]!, p)),
      );
      const out = await eventually(
        async () => {
          const { table } = await readTopic(log, "enriched", str, str, "read_committed");
          return ids.every((id) => table.has(id)) ? table : undefined;
        },
        `joined orders ${ids.join(", ")}`,
      );
      return new Map(ids.map((id, i) => [products[i]!, out.get(id)!]));
    };

    // Bootstrap read the topic before the first order: only committed values are there.
    expect(await joined(["p1", "p2", "p3", "p4"])).toEqual(
      new Map([
        ["p1", "p1=one"],
        ["p2", "p2=two"],
        ["p3", "p3=none"],
        ["p4", "p4=four"],
      ]),
    );

    // While tasks run: another aborted write, then a committed one to each partition.
    // Once orders see both committed keys, the global store has read each partition past
    // the aborted transaction (same producer, so its marker comes first): p2 must still
    // be "two", p6 never exist.
    await transaction(writer, [rec("p2", "ABORTED"), rec("p6", "ABORTED")], "abort");
    const probes = [0, 1].map((p) => keyOnPartition("probe", p));
    await transaction(
      writer,
      probes.map((k) => rec(k, "five")),
      "commit",
    );
    await eventually(async () => {
      const seen = await joined(probes);
      return [...seen.values()].every((v) => v.endsWith("=five")) ? true : undefined;
    }, "the committed probes reaching the global table");
    expect(await joined(["p1", "p2", "p6"])).toEqual(
      new Map([
        ["p1", "p1=one"],
        ["p2", "p2=two"],
        ["p6", "p6=none"],
      ]),
    );
  } finally {
    await worker.stop();
    await writer.close();
  }
}
