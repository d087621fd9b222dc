import { describe, expect, it } from "vitest";
import { TopologyTestDriver } from "../src/testing/index.js";
import app, {
  type EnrichedOrder,
  type Product,
  type ProductOrder,
} from "./fixtures/global-products-app.js";

describe("stream-global-table join in the test driver", () => {
  it("enriches each order with the product as it is when the order comes: updates reach later orders only, a deleted product gives null (left) or no output (inner)", () => {
    const driver = new TopologyTestDriver(app);
    try {
      const products = driver.createInputTopic<string, Product | null>("products");
      const orders = driver.createInputTopic<string, ProductOrder>("orders");
      const left = driver.createOutputTopic<string, EnrichedOrder>("orders-left");
      const inner = driver.createOutputTopic<string, EnrichedOrder>("orders-inner");

      products.pipeInput("p1", { name: "lamp", price: 10 });
      products.pipeInput("p2", { name: "desk", price: 100 });
      orders.pipeInput("o1", { id: "o1", product: "p1", qty: 2 });
      products.pipeInput("p1", { name: "lamp", price: 12 });
      orders.pipeInput("o2", { id: "o2", product: "p1", qty: 2 });
      products.pipeInput("p2", null);
      orders.pipeInput("o3", { id: "o3", product: "p2", qty: 1 });
      orders.pipeInput("o4", { id: "o4", product: "p9", qty: 1 });

      expect(left.readKeyValuesToList()).toEqual([
        ["o1", { order: "o1", product: "p1", name: "lamp", total: 20 }],
        ["o2", { order: "o2", product: "p1", name: "lamp", total: 24 }],
        ["o3", { order: "o3", product: "p2", name: null, total: null }],
        ["o4", { order: "o4", product: "p9", name: null, total: null }],
      ]);
      expect(inner.readKeyValuesToList()).toEqual([
        ["o1", { order: "o1", product: "p1", name: "lamp", total: 20 }],
        ["o2", { order: "o2", product: "p1", name: "lamp", total: 24 }],
      ]);
      const store = driver.getKeyValueStore<string, Product>("products-global");
      expect([...store.all()]).toEqual([["p1", { name: "lamp", price: 12 }]]);
      expect(() => store.put("p3", { name: "x", price: 1 })).toThrow(/read-only/);
    } finally {
      driver.close();
    }
  });

  it("describes the global store apart from the sub-topologies, with its topic as its only input", () => {
    const topology = app.build();
    const text = topology.describe().toString();
    expect(text).toMatch(
      /Global stores:\n {4}Source: KSTREAM-SOURCE-\d+ \(topics: \[products\]\)\n {6}--> KTABLE-SOURCE-\d+\n {4}Processor: KTABLE-SOURCE-\d+ \(stores: \[products-global\]\)/,
    );
    expect(text).toMatch(/Processor: enrich-left \(stores: \[products-global\]\)/);
    // one sub-topology: the global store joins nothing together and has no tasks
    expect(topology.subtopologies.map((s) => s.sourceTopics)).toEqual([["orders"]]);
    expect(topology.subtopologies[0]!.stores).toEqual([]);
    expect(topology.internalTopics).toEqual([]);
    expect(topology.globalTopics()).toEqual(["products"]);
  });
});
