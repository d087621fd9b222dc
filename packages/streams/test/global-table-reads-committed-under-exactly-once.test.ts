import path from "node:path";
import { type LogClient, type ProducerRecord, partitionForKey, Serdes } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { defineApp, runWorker } from "../src/index.js";
import { brokerPerFile, eventually, produce, readTopic } from "./runtime-helpers.js";

// Under exactly-once, a global table is read read_committed like every other input: a
// transaction written to its topic and aborted never reaches a stream-global-table join,
// neither in what bootstrap reads before the first task runs nor in what arrives while
// tasks run. Read read_uncommitted, the aborted values would join.

const env = brokerPerFile("global-eos");
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
  log: LogClient,
  records: ProducerRecord[],
  outcome: "commit" | "abort",
): Promise<void> {
  const p = log.transactionalProducer({ transactionalId: "products-writer" });
  try {
    await p.initTransactions();
    await p.beginTransaction();
    await p.send("products", records);
    if (outcome === "commit") await p.commitTransaction();
    else await p.abortTransaction();
  } finally {
    await p.close();
  }
}

describe("a global table under exactly-once", () => {
  it("never joins a record of an aborted transaction on its topic, at bootstrap or later", {
    timeout: 180_000, // a hang guard (loaded machines)
  }, async () => {
    const { log } = env;
    await log.admin.createTopic("products", { partitions: 2 });
    await log.admin.createTopic("orders", { partitions: 2 });
    await log.admin.createTopic("enriched", { partitions: 2 });
    // Before the worker starts: committed p1, p2; an aborted write over p1 and a new p3;
    // then a committed p4 after it (so the aborted records are not the topic's tail).
    await transaction(log, [rec("p1", "one"), rec("p2", "two")], "commit");
    await transaction(log, [rec("p1", "ABORTED"), rec("p3", "ABORTED")], "abort");
    await transaction(log, [rec("p4", "four")], "commit");

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
      stateDir: path.join(env.root, "state"),
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
      await transaction(log, [rec("p2", "ABORTED"), rec("p6", "ABORTED")], "abort");
      const probes = [0, 1].map((p) => keyOnPartition("probe", p));
      await transaction(
        log,
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
    }
  });
});
