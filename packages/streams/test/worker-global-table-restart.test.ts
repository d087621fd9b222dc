import path from "node:path";
import type { ProducerRecord } from "@tributary/log";
import { describe, expect, it } from "vitest";
import { type RestoreProgressEvent, runWorker } from "../src/index.js";
import app, {
  type EnrichedOrder,
  enrichedSerde,
  orderSerde,
  type Product,
  productSerde,
} from "./fixtures/global-products-app.js";
import { str } from "./helpers.js";
import { brokerPerFile, produce, waitForTable } from "./runtime-helpers.js";

const env = brokerPerFile("global-restart");

const product = (id: string, p: Product): ProducerRecord => ({
  key: Buffer.from(id),
  value: productSerde.serialize(p),
});
const order = (id: string, productId: string): ProducerRecord => ({
  key: Buffer.from(id),
  value: orderSerde.serialize({ id, product: productId, qty: 1 }),
});

describe("a global table across a worker restart", () => {
  it("keeps its local RocksDB copy: the restarted worker reads only what was added to the topic meanwhile, and still finds every product; a second worker on the same state directory makes a copy of its own", async () => {
    const { log } = env;
    await log.admin.createTopic("products", { partitions: 2 });
    await log.admin.createTopic("orders", { partitions: 2 });
    await log.admin.createTopic("orders-left", { partitions: 1 });
    await log.admin.createTopic("orders-inner", { partitions: 1 });
    await produce(
      log,
      "products",
      Array.from({ length: 3000 }, (_, i) => product(`p${i}`, { name: `v1 ${i}`, price: 1 })),
    );
    const stateDir = path.join(env.root, "state");
    const start = async () => {
      const events: RestoreProgressEvent[] = [];
      const w = runWorker(app, {
        log,
        stateDir,
        commitIntervalMs: 100,
        onRestore: (e) => {
          if (e.taskId === "global") events.push(e);
        },
      });
      await w.start();
      return { w, events };
    };
    const names = (t: Map<string, EnrichedOrder>) =>
      Object.fromEntries([...t].map(([k, v]) => [k, v.name]));

    const first = await start();
    expect(first.events.at(-1)).toMatchObject({
      store: "products-global",
      done: 3000,
      total: 3000,
    });
    await produce(log, "orders", [order("a1", "p1"), order("a2", "p2999")]);
    await waitForTable(log, "orders-left", str, enrichedSerde, (t) => t.size === 2, "first orders");
    await first.w.stop();

    await produce(log, "products", [
      product("p1", { name: "v2 1", price: 2 }),
      product("p3000", { name: "v1 3000", price: 1 }),
    ]);
    const second = await start();
    try {
      // only the two records produced while it was down
      expect(second.events.at(-1)).toMatchObject({ store: "products-global", done: 2, total: 2 });
      await produce(log, "orders", [order("b1", "p1"), order("b2", "p2999"), order("b3", "p3000")]);
      const out = await waitForTable(
        log,
        "orders-left",
        str,
        enrichedSerde,
        (t) => t.size === 5,
        "orders after the restart",
      );
      expect(names(out)).toEqual({
        a1: "v1 1",
        a2: "v1 2999",
        b1: "v2 1",
        b2: "v1 2999", // from the local copy: not read from the topic this time
        b3: "v1 3000",
      });
      // a second worker on the same state directory (tributary run --workers 2) cannot
      // take the first one's locked copy: it makes its own, read from the start
      const third = await start();
      try {
        expect(third.events.at(-1)).toMatchObject({ done: 3002, total: 3002 });
      } finally {
        await third.w.stop();
      }
    } finally {
      await second.w.stop();
    }
  });
});
