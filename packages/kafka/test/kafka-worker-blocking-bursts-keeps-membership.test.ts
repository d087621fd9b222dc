import { afterAll, describe, it } from "vitest";
import type { Backend } from "../../streams/test/runtime-helpers.js";
import { blockingBurstsScenario } from "../../streams/test/worker-blocking-bursts-scenario.js";
import { kafkaBackend } from "./kafka-streams-backend.js";

describe("a worker whose processing blocks its event loop in bursts, on Kafka", () => {
  let backend: Backend | undefined;
  afterAll(async () => {
    await backend?.close();
  });

  it("keeps its group membership while a second worker is in the group: no rebalance, nothing processed twice", async () => {
    backend = await kafkaBackend("bursts");
    await blockingBurstsScenario(backend);
  }, 180_000);
});
