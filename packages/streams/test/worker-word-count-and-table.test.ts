import { afterEach, describe, it } from "vitest";
import { type Backend, brokerBackend } from "./runtime-helpers.js";
import { tableScenario, wordCountScenario } from "./worker-scenarios.js";

// The scenarios live in worker-scenarios.ts so the Kafka suite runs the very same ones
// (packages/kafka/test/kafka-streams-e2e.test.ts); here each gets a broker process of its own.
let backend: Backend | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

describe("a worker process over the broker", () => {
  it("counts words like the reference over 3000 lines on 3 partitions, state in RocksDB", async () => {
    backend = await brokerBackend();
    await wordCountScenario(backend);
  });

  it("keeps a KTable of the latest value per key (tombstones delete) and regrouped counts, over 4000 updates", async () => {
    backend = await brokerBackend();
    await tableScenario(backend);
  });
});
