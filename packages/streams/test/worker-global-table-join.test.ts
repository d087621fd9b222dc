import { partitionForKey, type ProducerRecord } from "@tributary/log";
import { describe, expect, it } from "vitest";
import {
  type EnrichedOrder,
  enrich,
  enrichedSerde,
  orderSerde,
  type Product,
  type ProductOrder,
  productSerde,
} from "./fixtures/global-products-app.js";
import { seeded, str } from "./helpers.js";
import {
  eventually,
  produce,
  readTopic,
  sameMap,
  waitForTable,
  workersPerTest,
} from "./runtime-helpers.js";

const PRODUCT_PARTITIONS = 2;
const ORDER_PARTITIONS = 3;

const run = workersPerTest();

const productRecord = (id: string, p: Product | null): ProducerRecord => ({
  key: Buffer.from(id),
  value: p === null ? null : productSerde.serialize(p),
});
const orderRecord = (o: ProductOrder, partition?: number): ProducerRecord => ({
  key: Buffer.from(o.id),
  value: orderSerde.serialize(o),
  ...(partition === undefined ? {} : { partition }),
});

/** A key that lands on `partition` of the products topic. */
function keyOnPartition(prefix: string, partition: number): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}-${i}`;
    if (partitionForKey(Buffer.from(k), PRODUCT_PARTITIONS) === partition) return k;
  }
}

describe("stream-global-table join on 2 worker processes", () => {
  it("enriches orders with every partition of the products table: bootstrapped before the first order, later updates and deletes seen by later orders, equal to the reference", {
    timeout: 120_000,
  }, async () => {
    const { log } = await run.open();
    await log.admin.createTopic("products", { partitions: PRODUCT_PARTITIONS });
    await log.admin.createTopic("orders", { partitions: ORDER_PARTITIONS });
    await log.admin.createTopic("orders-left", { partitions: 2 });
    await log.admin.createTopic("orders-inner", { partitions: 2 });
    const rand = seeded(12);
    const table = new Map<string, Product>();
    const left = new Map<string, EnrichedOrder>();
    const inner = new Map<string, EnrichedOrder>();
    let nextOrder = 0;
    /** Orders referencing p0..p4039 (some never exist), with the reference results. */
    const orders = (n: number): ProducerRecord[] =>
      Array.from({ length: n }, () => {
        const o = {
          id: `o${nextOrder++}`,
          product: `p${Math.floor(rand() * 4040)}`,
          qty: 1 + Math.floor(rand() * 5),
        };
        const p = table.get(o.product) ?? null;
        left.set(o.id, enrich(o, p));
        if (p !== null) inner.set(o.id, enrich(o, p));
        return orderRecord(o);
      });
    const changeProducts = async (changes: [string, Product | null][]) => {
      for (const [id, p] of changes) {
        if (p === null) table.delete(id);
        else table.set(id, p);
      }
      await produce(
        log,
        "products",
        changes.map(([id, p]) => productRecord(id, p)),
      );
    };

    // Round 0, all before the workers start: 4000 products of 2 KB (2 partitions, 8 MB:
    // several fetches), 600 orders. Only a table read to its end before the first order is
    // processed gives every order its product: tasks racing the global read would join
    // early orders with null.
    const blurb = "x".repeat(2000);
    await changeProducts(
      Array.from({ length: 4000 }, (_, i) => [
        `p${i}`,
        { name: `product ${i}`, price: i + 1, blurb },
      ]),
    );
    await produce(log, "orders", orders(600));
    for (const i of [0, 1]) {
      await run.start("global-products-app.ts", `gt-w${i}`);
    }
    const real = (t: Map<string, EnrichedOrder>) =>
      new Map([...t].filter(([k]) => !k.startsWith("probe")));
    await waitForTable(
      log,
      "orders-left",
      str,
      enrichedSerde,
      (t) => real(t).size === left.size,
      "round 0 left join",
    );

    // Round 1: price changes, deletes and new products, then one marker per products
    // partition. Probes (orders for the markers, to every orders partition) show when each
    // worker's global store has read past the marker of each partition, so holds every
    // change before it: orders produced after that must see the new table.
    const changes: [string, Product | null][] = [];
    for (let i = 0; i < 60; i++)
      changes.push([`p${i * 3}`, { name: `product ${i * 3} v2`, price: 1000 + i }]);
    for (let i = 0; i < 30; i++) changes.push([`p${i * 3 + 1}`, null]);
    for (let i = 4000; i < 4030; i++) changes.push([`p${i}`, { name: `new ${i}`, price: i }]);
    const markers = [0, 1].map((p) => keyOnPartition("marker-1", p));
    await changeProducts([
      ...changes,
      ...markers.map((m): [string, Product] => [m, { name: m, price: 0 }]),
    ]);
    let probe = 0;
    await eventually(
      async () => {
        const probes: ProducerRecord[] = [];
        for (let q = 0; q < ORDER_PARTITIONS; q++) {
          for (const m of markers)
            probes.push(orderRecord({ id: `probe-${q}-${m}-${probe++}`, product: m, qty: 1 }, q));
        }
        await produce(log, "orders", probes);
        const seen = (await readTopic(log, "orders-inner", str, enrichedSerde)).table;
        const pairs = new Set(
          [...seen.keys()]
            .filter((k) => k.startsWith("probe"))
            .map((k) => k.split("-").slice(1, 5).join("-")),
        );
        return ORDER_PARTITIONS * markers.length === pairs.size ? true : undefined;
      },
      "every worker's global store past both markers",
      60_000,
    );
    await produce(log, "orders", orders(600));

    const leftOut = await waitForTable(
      log,
      "orders-left",
      str,
      enrichedSerde,
      (t) => real(t).size === left.size,
      "round 1 left join",
    );
    const innerOut = await waitForTable(
      log,
      "orders-inner",
      str,
      enrichedSerde,
      (t) => real(t).size === inner.size,
      "round 1 inner join",
    );
    expect(sameMap(real(leftOut), left)).toBe(true);
    expect(sameMap(real(innerOut), inner)).toBe(true);
    // the data exercises every case: deleted and unknown products, changed prices
    const round1 = [...left.values()].slice(600);
    expect(round1.some((e) => e.name === null && Number(e.product.slice(1)) % 3 === 1)).toBe(true);
    expect(round1.some((e) => e.name?.endsWith("v2"))).toBe(true);
    expect(inner.size).toBeLessThan(left.size);
  });
});
