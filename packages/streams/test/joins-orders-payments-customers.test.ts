import { describe, expect, it } from "vitest";
import { defineApp, Serdes } from "../src/index.js";
import { TopologyTestDriver } from "../src/testing/index.js";
import { JoinWindows } from "../src/windows/join-windows.js";
import { pick, seeded, str } from "./helpers.js";

// Joins against reference computations written with plain loops over the same events.

interface Order {
  id: string;
  customer: string;
  amount: number;
}
interface Customer {
  name: string;
  tier: string;
}
interface Payment {
  order: string;
  paid: number;
}

const MINUTE = 60_000;
const orderSerde = Serdes.json<Order>();
const customerSerde = Serdes.json<Customer>();
const paymentSerde = Serdes.json<Payment>();

describe("stream-table join: orders enriched with customers", () => {
  const app = (left: boolean) =>
    defineApp({
      applicationId: "enrich",
      topology: (b) => {
        const customers = b.table<string, Customer>(
          "customers",
          { keySerde: str, valueSerde: customerSerde },
          { storeName: "customers" },
        );
        // orders are keyed by order id: re-keying by customer forces a repartition first
        const byCustomer = b
          .stream<string, Order>("orders", { keySerde: str, valueSerde: orderSerde })
          .selectKey((_k, o) => o.customer);
        const joiner = (o: Order, c: Customer | null) => ({
          order: o.id,
          customer: c?.name ?? null,
          tier: c?.tier ?? null,
        });
        const joined = left
          ? byCustomer.leftJoin(customers, joiner, { keySerde: str, valueSerde: orderSerde })
          : byCustomer.join(customers, joiner, { keySerde: str, valueSerde: orderSerde });
        joined.to("enriched", { keySerde: str, valueSerde: Serdes.json() });
      },
    });

  for (const left of [true, false]) {
    it(`${left ? "left" : "inner"} join: each order with the customer as it was when the order came (20,000 events)`, () => {
      const rand = seeded(left ? 1 : 2);
      const driver = new TopologyTestDriver(app(left));
      const orders = driver.createInputTopic<string, Order>("orders");
      const customers = driver.createInputTopic<string, Customer | null>("customers");
      const out = driver.createOutputTopic<string, unknown>("enriched");
      const table = new Map<string, Customer>();
      const expected: [string, unknown][] = [];
      const ids = Array.from({ length: 300 }, (_, i) => `c${i}`);
      for (let i = 0; i < 20_000; i++) {
        const c = pick(rand, ids);
        if (rand() < 0.3) {
          if (rand() < 0.1) {
            customers.pipeInput(c, null, i);
            table.delete(c);
          } else {
            const v = { name: `name-${c}-${i}`, tier: pick(rand, ["gold", "silver"]) };
            customers.pipeInput(c, v, i);
            table.set(c, v);
          }
        } else {
          const o = { id: `o${i}`, customer: c, amount: i % 97 };
          orders.pipeInput(o.id, o, i);
          const cust = table.get(c);
          if (cust !== undefined || left) {
            expected.push([
              c,
              { order: o.id, customer: cust?.name ?? null, tier: cust?.tier ?? null },
            ]);
          }
        }
      }
      expect(out.readKeyValuesToList()).toEqual(expected);
      expect(driver.producedTopicNames()).toContain(
        `enrich-KSTREAM-${left ? "LEFTJOIN" : "JOIN"}-0000000004-repartition`,
      );
      driver.close();
    });
  }
});

describe("stream-stream join: payments paired with orders inside 5 minutes", () => {
  const window = JoinWindows.ofTimeDifferenceAndGrace(5 * MINUTE, 30_000);
  const app = (type: "inner" | "left" | "outer") =>
    defineApp({
      applicationId: "pay",
      topology: (b) => {
        const orders = b.stream<string, Order>("orders", { keySerde: str, valueSerde: orderSerde });
        const payments = b.stream<string, Payment>("payments", {
          keySerde: str,
          valueSerde: paymentSerde,
        });
        const joiner = (o: Order | null, p: Payment | null) => `${o?.id ?? "-"}|${p?.paid ?? "-"}`;
        const joined =
          type === "inner"
            ? orders.join(payments, joiner, window, { name: "pairs" })
            : type === "left"
              ? orders.leftJoin(payments, joiner, window, { name: "pairs" })
              : orders.outerJoin(payments, joiner, window, { name: "pairs" });
        joined.to("paired", { keySerde: str, valueSerde: str });
      },
    });

  interface Event {
    left: boolean;
    key: string;
    ts: number;
    label: string;
    order?: Order;
    payment?: Payment;
  }

  function generate(n: number, seed: number): Event[] {
    const rand = seeded(seed);
    const events: Event[] = [];
    let now = 10 * MINUTE;
    for (let i = 0; i < n; i++) {
      now += Math.floor(rand() * 4000);
      const key = `o${Math.floor(rand() * 400)}`;
      // most on time, some up to 40 s late (half within the 30 s grace)
      const ts = rand() < 0.1 ? now - Math.floor(rand() * 40_000) : now;
      if (rand() < 0.5) {
        events.push({
          left: true,
          key,
          ts,
          label: `${key}#${i}`,
          order: { id: `${key}#${i}`, customer: "c", amount: 1 },
        });
      } else {
        events.push({ left: false, key, ts, label: `${i}`, payment: { order: key, paid: i } });
      }
    }
    return events;
  }

  function reference(events: readonly Event[], type: "inner" | "left" | "outer") {
    const grace = 30_000;
    const d = 5 * MINUTE;
    let streamTime = -1;
    const accepted: (Event & { seq: number })[] = [];
    let dropped = 0;
    for (const e of events) {
      streamTime = Math.max(streamTime, e.ts);
      if (e.ts + grace < streamTime) dropped++;
      else accepted.push({ ...e, seq: accepted.length });
    }
    const pairs: string[] = [];
    const matched = new Set<number>();
    const byKey = new Map<string, (Event & { seq: number })[]>();
    for (const e of accepted) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
    for (const l of accepted) {
      if (!l.left) continue;
      for (const r of byKey.get(l.key)!) {
        if (r.left || Math.abs(r.ts - l.ts) > d) continue;
        pairs.push(`${l.key}:${l.label}|${r.label}`);
        matched.add(l.seq);
        matched.add(r.seq);
      }
    }
    const unmatched: string[] = [];
    for (const e of accepted) {
      if (matched.has(e.seq)) continue;
      // emitted once no partner can come: ts + 5 min + grace < final stream time
      if (!(e.ts + d + grace < streamTime)) continue;
      if (e.left && type !== "inner") unmatched.push(`${e.key}:${e.label}|-`);
      if (!e.left && type === "outer") unmatched.push(`${e.key}:-|${e.label}`);
    }
    return { pairs, unmatched, dropped };
  }

  for (const type of ["inner", "left", "outer"] as const) {
    it(`${type} join over 8,000 orders and payments: every pair inside the window, unmatched ones once after it closes`, () => {
      const events = generate(8000, type.length);
      const ref = reference(events, type);
      const driver = new TopologyTestDriver(app(type));
      const orders = driver.createInputTopic<string, Order>("orders");
      const payments = driver.createInputTopic<string, Payment>("payments");
      for (const e of events) {
        if (e.left) orders.pipeInput(e.key, e.order!, e.ts);
        else payments.pipeInput(e.key, e.payment!, e.ts);
      }
      const out = driver
        .createOutputTopic<string, string>("paired")
        .readKeyValuesToList()
        .map(([k, v]) => `${k}:${v}`);
      const pairs = out.filter((s) => !s.includes("-"));
      const unmatched = out.filter((s) => s.includes("-"));
      expect(pairs.sort()).toEqual([...ref.pairs].sort());
      expect(unmatched.sort()).toEqual([...ref.unmatched].sort());
      expect(ref.pairs.length).toBeGreaterThan(1000);
      if (type !== "inner") expect(ref.unmatched.length).toBeGreaterThan(10);
      expect(driver.droppedRecords()).toBe(ref.dropped);
      expect(ref.dropped).toBeGreaterThan(10);
      driver.close();
    });
  }

  it("an outer join emits no early null result for a record that is matched later (KIP-633)", () => {
    const driver = new TopologyTestDriver(app("outer"));
    const orders = driver.createInputTopic<string, Order>("orders");
    const payments = driver.createInputTopic<string, Payment>("payments");
    const out = driver.createOutputTopic<string, string>("paired");
    orders.pipeInput("k", { id: "A", customer: "c", amount: 1 }, 0);
    expect(out.isEmpty()).toBe(true);
    payments.pipeInput("k", { order: "k", paid: 7 }, 4 * MINUTE);
    expect(out.readKeyValuesToList()).toEqual([["k", "A|7"]]);
    // far later: B's window closes unmatched; A was matched and never comes out with null
    orders.pipeInput("k", { id: "B", customer: "c", amount: 1 }, 20 * MINUTE);
    orders.pipeInput("z", { id: "Z", customer: "c", amount: 1 }, 30 * MINUTE);
    expect(out.readKeyValuesToList()).toEqual([["k", "B|-"]]);
    driver.close();
  });
});
