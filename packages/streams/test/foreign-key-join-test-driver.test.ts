import { describe, expect, it } from "vitest";
import { responseSerde, valueHash } from "../src/joins/foreign-key-wrappers.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import app, {
  type FkCustomer,
  type FkOrder,
  fkCustomerSerde,
  fkOrderSerde,
  type OrderCustomer,
} from "./fixtures/fk-orders-customers-app.js";
import { type FkChange, foreignKeyPhases, foreignKeyReference } from "./foreign-key-helpers.js";

describe("foreign-key table-table join (KIP-213) in the test driver", () => {
  it("after every change — inserts, orders moving to another customer, customers updated, deleted and back, orders deleted — the inner and left result tables equal the reference", () => {
    const driver = new TopologyTestDriver(app);
    try {
      const orders = driver.createInputTopic<string, FkOrder | null>("orders");
      const customers = driver.createInputTopic<string, FkCustomer | null>("customers");
      const inner = driver.getKeyValueStore<string, OrderCustomer>("orders-customers-inner");
      const left = driver.getKeyValueStore<string, OrderCustomer>("orders-customers-left");
      const done: FkChange[] = [];
      for (const phase of foreignKeyPhases(7)) {
        for (const c of phase.changes) {
          (c.table === "orders" ? orders : customers).pipeInput(c.key, c.value as never);
          done.push(c);
          const what = `${phase.name}, after ${c.table} ${c.key} = ${JSON.stringify(c.value)}`;
          expect(new Map(inner.all()), what).toEqual(foreignKeyReference(done, false));
          expect(new Map(left.all()), what).toEqual(foreignKeyReference(done, true));
        }
      }
      // each order with a customer is subscribed to that customer only: moved and deleted
      // orders were unsubscribed (their old subscriptions would only pile up)
      const subscriptions = driver.getKeyValueStore<string, { primaryKey: Buffer }[]>(
        "KTABLE-FK-JOIN-0000000004-subscription-store",
      );
      const subscribed = [...subscriptions.all()].flatMap(([c, list]) =>
        list.map((s) => `${s.primaryKey.toString()}->${c}`),
      );
      const current = new Map<string, string | null>();
      for (const c of done) {
        if (c.table !== "orders") continue;
        if (c.value === null) current.delete(c.key);
        else current.set(c.key, c.value.customer);
      }
      const expected = [...current].filter(([, c]) => c !== null).map(([o, c]) => `${o}->${c}`);
      expect(subscribed.sort()).toEqual(expected.sort());
      // the output topics carry the same tables, tombstones deleting
      const table = (topic: string) => {
        const t = new Map<string, OrderCustomer>();
        for (const r of driver
          .createOutputTopic<string, OrderCustomer | null>(topic)
          .readRecordsToList()) {
          if (r.value === null) t.delete(r.key);
          else t.set(r.key, r.value);
        }
        return t;
      };
      expect(table("orders-customers-inner")).toEqual(foreignKeyReference(done, false));
      expect(table("orders-customers-left")).toEqual(foreignKeyReference(done, true));
    } finally {
      driver.close();
    }
  });

  it("drops a response made for an older version of the left row (its hash differs) and applies one made for the current version", () => {
    const driver = new TopologyTestDriver(app);
    try {
      const orders = driver.createInputTopic<string, FkOrder | null>("orders");
      const customers = driver.createInputTopic<string, FkCustomer | null>("customers");
      const left = driver.getKeyValueStore<string, OrderCustomer>("orders-customers-left");
      customers.pipeInput("c1", { name: "one" });
      customers.pipeInput("c2", { name: "two" });
      const v1: FkOrder = { id: "o1", customer: "c1", amount: 5 };
      const v2: FkOrder = { id: "o1", customer: "c2", amount: 6 };
      orders.pipeInput("o1", v1);
      orders.pipeInput("o1", v2);
      expect(left.get("o1")?.name).toBe("two");
      // the answer c1 gave to v1, arriving late (it would be, on another partition)
      const responses = driver.createInputTopic(
        "fk-orders-app-KTABLE-FK-LEFTJOIN-0000000007-subscription-response-topic",
        undefined,
        responseSerde(fkCustomerSerde as never),
      );
      const hash = (o: FkOrder) => valueHash(fkOrderSerde.serialize(o));
      responses.pipeInput("o1", { hash: hash(v1), value: { name: "one" } });
      expect(left.get("o1")?.name).toBe("two");
      // an answer for the current version is applied: c2 renamed, as its update would say
      responses.pipeInput("o1", { hash: hash(v2), value: { name: "two, renamed" } });
      expect(left.get("o1")?.name).toBe("two, renamed");
    } finally {
      driver.close();
    }
  });

  it("describes the subscription and response topics as internal topics and the subscription store on the right side", () => {
    const topology = app.build();
    const names = topology.internalTopics.map((t) => t.name);
    expect(names).toContain(
      "fk-orders-app-KTABLE-FK-JOIN-0000000004-subscription-registration-topic",
    );
    expect(names).toContain("fk-orders-app-KTABLE-FK-JOIN-0000000004-subscription-response-topic");
    const right = topology.subtopologyReading("customers")!;
    expect(right.stores.map((s) => s.name)).toContain(
      "KTABLE-FK-JOIN-0000000004-subscription-store",
    );
    expect(right.sourceTopics).toContain(
      "fk-orders-app-KTABLE-FK-JOIN-0000000004-subscription-registration-topic",
    );
    const leftSub = topology.subtopologyReading("orders")!;
    expect(leftSub.sourceTopics).toContain(
      "fk-orders-app-KTABLE-FK-JOIN-0000000004-subscription-response-topic",
    );
    expect(leftSub).not.toBe(right);
  });
});
